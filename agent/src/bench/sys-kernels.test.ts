import type { Profile } from '../profiles/profile';
import { spawnOnce, sysSpawn } from './sys/spawn';
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

describe('sys.spawn', () => {
  it('measures a finite positive rate in spawns/s', async () => {
    const { values, parameters } = await oneTrial(sysSpawn, { minSpawns: 2 });
    expectRates(sysSpawn, values);
    expect(sysSpawn.metrics[0]?.unit).toBe('spawns/s');
    expect(values['rate']).toBeLessThan(1e6);
    expect(parameters['command']).toBe('/bin/true');
  });

  it('fails when the spawned program fails', async () => {
    await expect(spawnOnce('/bin/false')).rejects.toThrow(/exited with 1/);
    await expect(spawnOnce('/nonexistent/program')).rejects.toThrow(/ENOENT/);
  });

  it('refuses a bad setting', () => {
    expect(() => sysSpawn.parseSettings({ minSpawns: 1.5 })).toThrow('sys.spawn: setting "minSpawns" must be a whole number from 1 to 100000, got 1.5');
  });
});
