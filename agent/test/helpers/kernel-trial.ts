// What the benchmark kernels' unit tests share: a profile of a few milliseconds per trial,
// one prepared trial of a benchmark, and the check that its values are finite rates.
import type { Profile } from '../../src/profiles/profile';
import type { AnyBenchmark, TrialValues } from '../../src/bench/types';

/** Three trials of 5 ms, warm-up 5 ms: enough to run a kernel, not to measure it. */
export function tinyProfile(): Profile {
  return {
    name: 'test',
    description: '',
    warmupSeconds: 0.005,
    trialSeconds: 0.005,
    minTrials: 3,
    maxTrials: 3,
    rsdThreshold: 0.5,
    budgetSeconds: 1,
    benchmarks: [],
    settings: {},
  };
}

/** Prepares `def` with `raw` settings on the tiny profile, runs one trial and disposes of it. */
export async function oneTrial(
  def: AnyBenchmark,
  raw: Record<string, unknown> = {},
): Promise<{ values: TrialValues; parameters: Readonly<Record<string, string>> }> {
  const prepared = await def.prepare(def.parseSettings(raw), { profile: tinyProfile(), signal: new AbortController().signal });
  try {
    return { values: await prepared.trial(), parameters: prepared.parameters };
  } finally {
    await prepared.dispose?.();
  }
}

/** Every metric of `def` got a finite positive value, and exactly one metric is primary. */
export function expectRates(def: AnyBenchmark, values: TrialValues): void {
  for (const m of def.metrics) {
    const v = values[m.name];
    expect(typeof v).toBe('number');
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
  }
  expect(def.metrics.filter((m) => m.primary)).toHaveLength(1);
}
