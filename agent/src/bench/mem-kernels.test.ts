import type { Profile } from '../profiles/profile';
import { copyBuffers, memBandwidth } from './mem/bandwidth';
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

describe('mem.bandwidth', () => {
  it('measures a finite positive copy rate in GB/s and records the buffer size', async () => {
    const { values, parameters } = await oneTrial(memBandwidth, { bufferMiB: 2 });
    expectRates(memBandwidth, values);
    expect(memBandwidth.metrics[0]?.unit).toBe('GB/s');
    expect(values['copy']).toBeLessThan(10000);
    expect(parameters['bufferMiB']).toBe('2');
  });

  it('really copies', () => {
    const source = Uint8Array.from({ length: 10000 }, (_, i) => i % 251);
    const target = new Uint8Array(10000);
    copyBuffers(source, target, 2);
    expect(target).toEqual(source);
  });

  it('refuses a bad buffer size with a clear message', () => {
    expect(() => memBandwidth.parseSettings({ bufferMiB: 0 })).toThrow('mem.bandwidth: setting "bufferMiB" must be a whole number from 1 to 16384, got 0');
    expect(() => memBandwidth.parseSettings({ bufferMiB: '64' })).toThrow(/bufferMiB/);
    expect(memBandwidth.parseSettings({})).toEqual({ bufferMiB: 256 });
  });
});
