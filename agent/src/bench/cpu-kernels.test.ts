import type { Profile } from '../profiles/profile';
import { isProfileError } from '../profiles/profile';
import { cpuFloat64, float64Chain } from './cpu/float64';
import { cpuInt32, int32Chain } from './cpu/int32';
import type { AnyBenchmark, TrialValues } from './types';

function tinyProfile(): Profile {
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

async function oneTrial(def: AnyBenchmark, raw: Record<string, unknown> = {}): Promise<{ values: TrialValues; parameters: Readonly<Record<string, string>> }> {
  const prepared = await def.prepare(def.parseSettings(raw), { profile: tinyProfile(), signal: new AbortController().signal });
  try {
    return { values: await prepared.trial(), parameters: prepared.parameters };
  } finally {
    await prepared.dispose?.();
  }
}

function expectRates(def: AnyBenchmark, values: TrialValues): void {
  for (const m of def.metrics) {
    const v = values[m.name];
    expect(typeof v).toBe('number');
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
  }
  expect(def.metrics.filter((m) => m.primary)).toHaveLength(1);
}

describe('cpu.int32', () => {
  it('measures a finite positive rate in Mops/s', async () => {
    const { values } = await oneTrial(cpuInt32);
    expectRates(cpuInt32, values);
    expect(cpuInt32.metrics[0]?.unit).toBe('Mops/s');
    // Sanity: an int32 chain runs between 10 Mops/s (emulated) and 100 Gops/s.
    expect(values['throughput']).toBeGreaterThan(1);
    expect(values['throughput']).toBeLessThan(1e5);
  });

  it('computes the same chain as a reference in 32-bit arithmetic', () => {
    let x = 12345;
    for (let i = 0; i < 1000; i++) {
      x = Number(BigInt.asIntN(32, BigInt(x) * 1664525n + 1013904223n));
      x = x ^ Number(BigInt.asUintN(32, BigInt(x)) >> 13n);
      x = Number(BigInt.asIntN(32, BigInt(x) + (BigInt(x) << 5n)));
    }
    expect(int32Chain(1000, 12345)).toBe(x);
  });

  it('refuses settings it does not know', () => {
    expect(() => cpuInt32.parseSettings({ iterations: 5 })).toThrow(/cpu\.int32: unknown setting "iterations"/);
  });
});

describe('cpu.float64', () => {
  it('measures a finite positive rate in Mflops', async () => {
    const { values } = await oneTrial(cpuFloat64);
    expectRates(cpuFloat64, values);
    expect(cpuFloat64.metrics[0]?.unit).toBe('Mflops');
  });

  it('stays in normal range and converges to its fixed point', () => {
    expect(float64Chain(0, 0.1)).toBe(0.1);
    expect(float64Chain(10000, 0.1)).toBeCloseTo(22, 9);
    expect(Number.isFinite(float64Chain(10000, 1e300))).toBe(true);
  });

  it('refuses a bad value with a ProfileError', () => {
    let caught: unknown;
    try {
      cpuFloat64.parseSettings({ x: 1 });
    } catch (err: unknown) {
      caught = err;
    }
    expect(isProfileError(caught)).toBe(true);
  });
});
