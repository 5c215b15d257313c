import type { AgentRecord, SampleRecord } from '../model';
import { EMPTY_INVENTORY } from '../model';
import { SqliteStore } from '../store/sql-store';
import { aaVerdict, compareAa, isAaError } from './aa-verdict';
import { compare } from './compare';

function agent(id: string, platform: string): AgentRecord {
  return {
    id,
    hostname: 'host',
    declaredPlatform: platform,
    detectedPlatform: platform,
    platform,
    evidence: [],
    inventory: { ...EMPTY_INVENTORY, cpus: 2 },
    agentVersion: '0.1.0',
    enrolledAtMs: 1,
  };
}

const BENCHMARKS = ['cpu.a', 'cpu.b', 'mem.a', 'sys.a', 'sys.b'];

function samples(runId: string, scale: number, jitter: (i: number) => number): SampleRecord[] {
  return BENCHMARKS.map((benchmarkId, i) => {
    const v = 100 * scale * jitter(i);
    return {
      id: `${runId}:${benchmarkId}`,
      runId,
      benchmarkId,
      metric: 'throughput',
      unit: 'ops/s',
      direction: 'higher',
      value: v,
      trials: [v * 0.99, v, v * 1.01],
      trialCount: 3,
      rsd: 0.01,
      stealFraction: 0,
      parameters: {},
      primary: true,
      clocksource: 'tsc',
      durationSeconds: 1,
      finishedAtMs: 1,
      flags: [],
    };
  });
}

/** Runs of native/a and native/b, interleaved; `b` scales group b, `spread` sets how runs differ. */
async function aaStore(runsPerSide: number, b: number, spread: number, platformB = 'native'): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  await store.upsertAgent(agent('na', 'native'));
  await store.upsertAgent(agent('nb', platformB));
  let t = 1000;
  for (let r = 0; r < runsPerSide; r++) {
    for (const [label, agentId, scale] of [
      ['a', 'na', 1],
      ['b', 'nb', b],
    ] as const) {
      const id = `${label}${r}`;
      await store.startRun({ id, agentId, label, profile: 'quick', agentVersion: '0.1.0', startedAtMs: t++, jobId: '' });
      // Deterministic run-to-run differences: each run and metric moves by up to ±spread.
      await store.insertSamples(
        id,
        samples(id, scale, (i) => 1 + spread * Math.sin(1.7 * (r + 1) * (i + 1) + (label === 'a' ? 0 : 0.9))),
      );
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: t++ });
    }
  }
  return store;
}

describe('A/A verdict', () => {
  test('agrees: the same platform within ±5 % and precise intervals', async () => {
    const store = await aaStore(3, 1.0, 0.01);
    const { verdict } = await compareAa(store, 'native/a', 'native/b');
    expect(verdict.verdict).toBe('agrees');
    expect(Math.abs(verdict.overall! - 1)).toBeLessThanOrEqual(0.05);
    expect(verdict.medianHalfWidth!).toBeLessThanOrEqual(0.15);
    expect(verdict.summary).toMatch(/^agrees: native\/b \/ native\/a overall/);
    await store.close();
  });

  test('disagrees: precise intervals, but 10 % apart', async () => {
    const store = await aaStore(3, 0.9, 0.01);
    const { verdict } = await compareAa(store, 'native/a', 'native/b');
    expect(verdict.verdict).toBe('disagrees');
    expect(verdict.overall!).toBeCloseTo(0.9, 1);
    expect(verdict.summary).toMatch(/^disagrees: .*10\.\d % apart/);
    await store.close();
  });

  test('too noisy to tell: says how many runs a side would do', async () => {
    const store = await aaStore(2, 1.0, 0.08);
    const { verdict } = await compareAa(store, 'native/a', 'native/b');
    expect(verdict.verdict).toBe('too-noisy');
    expect(verdict.medianHalfWidth!).toBeGreaterThan(0.15);
    expect(verdict.runsPerSideNeeded).toBeGreaterThan(2);
    expect(verdict.summary).toMatch(new RegExp(`run about ${verdict.runsPerSideNeeded} a side \\(${verdict.runsPerSideNeeded! - 2} more of native/a`));
    // The projection holds: that many runs of the same spread make the verdict.
    const more = await aaStore(verdict.runsPerSideNeeded!, 1.0, 0.08);
    expect((await compareAa(more, 'native/a', 'native/b')).verdict.medianHalfWidth!).toBeLessThanOrEqual(0.2);
    await store.close();
    await more.close();
  });

  test('one run a side is too noisy to tell even when the two agree exactly', async () => {
    const store = await aaStore(1, 1.0, 0);
    const { verdict, comparison } = await compareAa(store, 'native/a', 'native/b');
    expect(comparison.groups[1]!.ciMethod).toBe('within-run-only');
    expect(verdict.verdict).toBe('too-noisy');
    await store.close();
  });

  test('refuses groups of different platforms, the same group twice, and a group without runs', async () => {
    const store = await aaStore(2, 1.0, 0.01, 'kvm');
    await expect(compareAa(store, 'native/a', 'kvm/b')).rejects.toThrow(/same platform; native\/a is native and kvm\/b is kvm/);
    await expect(compareAa(store, 'native/a', 'native/a')).rejects.toThrow(/two different groups/);
    const missing = await compareAa(store, 'native/a', 'native/zzz').catch((err: unknown) => err);
    expect(isAaError(missing) && missing.kind).toBe('not-found');
    // aaVerdict checks the platforms of what it is given too.
    const result = await compare(store, { baseline: 'native/a', groups: ['kvm/b'] });
    expect(() => aaVerdict(result, 'kvm/b')).toThrow(/same platform/);
    await store.close();
  });
});
