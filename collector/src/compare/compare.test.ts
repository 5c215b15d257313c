import type { AgentRecord, SampleRecord } from '../model';
import { EMPTY_INVENTORY } from '../model';
import { SqliteStore } from '../store/sqlite-store';
import { compare } from './compare';

function agent(id: string, platform: string): AgentRecord {
  return {
    id, hostname: `${id}-host`, declaredPlatform: '', detectedPlatform: platform, platform,
    evidence: [{ source: '/sys/class/dmi/id/sys_vendor', value: platform, suggests: platform }],
    inventory: { ...EMPTY_INVENTORY, cpuModel: `${platform} cpu`, cpus: 2 }, agentVersion: '0.1.0', enrolledAtMs: 1,
  };
}

function sample(runId: string, benchmarkId: string, trials: number[], over: Partial<SampleRecord> = {}): SampleRecord {
  const value = trials.reduce((a, b) => a + b, 0) / trials.length;
  return {
    id: `${runId}:${benchmarkId}:${over.metric ?? 'throughput'}`, runId, benchmarkId, metric: 'throughput', unit: 'ops/s',
    direction: 'higher', value, trials, trialCount: trials.length, rsd: 0.01, stealFraction: 0, parameters: { size: '1' },
    primary: true, clocksource: 'tsc', durationSeconds: 1, finishedAtMs: 1, flags: [], ...over,
  };
}

async function storeWith(runs: { id: string; platform: string; label?: string; version?: string; host?: string; samples: (runId: string) => SampleRecord[] }[]): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  let t = 1000;
  for (const r of runs) {
    const agentId = `agent-${r.platform}${r.host === undefined ? '' : `-${r.host}`}`;
    await store.upsertAgent({ ...agent(agentId, r.platform), ...(r.host === undefined ? {} : { hostname: r.host }) });
    await store.startRun({ id: r.id, agentId, label: r.label ?? '', profile: 'smoke', agentVersion: r.version ?? '0.1.0', startedAtMs: t++, jobId: '' });
    await store.insertSamples(r.id, r.samples(r.id));
    await store.endRun(r.id, { status: 'completed', error: '', endedAtMs: t++ });
  }
  return store;
}

describe('compare', () => {
  test('higher-is-better: relative = guest/native; lower-is-better: native/guest', async () => {
    const store = await storeWith([
      { id: 'n1', platform: 'native', samples: (id) => [sample(id, 'cpu.int32', [100, 100, 100]), sample(id, 'sys.clock', [20, 20, 20], { direction: 'lower', unit: 'ns', metric: 'latency' })] },
      { id: 'k1', platform: 'kvm', samples: (id) => [sample(id, 'cpu.int32', [80, 80, 80]), sample(id, 'sys.clock', [40, 40, 40], { direction: 'lower', unit: 'ns', metric: 'latency' })] },
    ]);
    const result = await compare(store);
    const kvm = result.groups.find((g) => g.key === 'kvm')!;
    const cpu = kvm.benchmarks.find((b) => b.benchmarkId === 'cpu.int32')!;
    const clock = kvm.benchmarks.find((b) => b.benchmarkId === 'sys.clock')!;
    expect(cpu.relative).toBeCloseTo(0.8, 12);
    expect(clock.relative).toBeCloseTo(0.5, 12);
    expect(kvm.categories.find((c) => c.category === 'cpu')!.geomean).toBeCloseTo(0.8, 12);
    expect(kvm.categories.find((c) => c.category === 'sys')!.geomean).toBeCloseTo(0.5, 12);
    // overall: geometric mean of the category means
    expect(kvm.overallGeomean).toBeCloseTo(Math.sqrt(0.8 * 0.5), 12);
    expect(result.groups[0]!.isBaseline).toBe(true);
    expect(kvm.inventory.cpuModel).toBe('kvm cpu');
    await store.close();
  });

  test('pairs only equal parameters and agent major versions; otherwise no-baseline', async () => {
    const store = await storeWith([
      { id: 'n1', platform: 'native', samples: (id) => [sample(id, 'cpu.int32', [100, 101, 99])] },
      { id: 'x1', platform: 'xen', samples: (id) => [sample(id, 'cpu.int32', [90, 91, 89], { parameters: { size: '2' } })] },
      { id: 'v1', platform: 'vmware', version: '1.0.0', samples: (id) => [sample(id, 'cpu.int32', [90, 91, 89])] },
    ]);
    const result = await compare(store);
    for (const key of ['xen', 'vmware']) {
      const row = result.groups.find((g) => g.key === key)!.benchmarks[0]!;
      expect(row.relative).toBeUndefined();
      expect(row.flags).toContain('no-baseline');
      expect(row.groupValue).toBeGreaterThan(0);
    }
    await store.close();
  });

  test('flags noisy and steal, and gives an interval around the ratio', async () => {
    const store = await storeWith([
      { id: 'n1', platform: 'native', samples: (id) => [sample(id, 'cpu.int32', [100, 102, 98])] },
      { id: 'k1', platform: 'kvm', samples: (id) => [sample(id, 'cpu.int32', [60, 90, 75], { rsd: 0.2, stealFraction: 0.05 })] },
    ]);
    const row = (await compare(store)).groups.find((g) => g.key === 'kvm')!.benchmarks[0]!;
    expect(row.flags).toEqual(expect.arrayContaining(['noisy', 'steal']));
    expect(row.ciLow!).toBeLessThan(row.relative!);
    expect(row.ciHigh!).toBeGreaterThan(row.relative!);
    await store.close();
  });

  test('uses each run as one observation when both sides have several runs', async () => {
    const store = await storeWith([
      { id: 'n1', platform: 'native', samples: (id) => [sample(id, 'cpu.int32', [100, 100, 100])] },
      { id: 'n2', platform: 'native', samples: (id) => [sample(id, 'cpu.int32', [110, 110, 110])] },
      { id: 'k1', platform: 'kvm', label: 'virtio', samples: (id) => [sample(id, 'cpu.int32', [90, 90, 90])] },
      { id: 'k2', platform: 'kvm', label: 'virtio', samples: (id) => [sample(id, 'cpu.int32', [99, 99, 99])] },
    ]);
    const result = await compare(store, { groups: ['kvm/virtio'] });
    expect(result.groups.map((g) => g.key)).toEqual(['native', 'kvm/virtio']);
    const row = result.groups[1]!.benchmarks[0]!;
    expect(row.groupRuns).toBe(2);
    expect(row.baselineRuns).toBe(2);
    expect(row.relative).toBeCloseTo(Math.sqrt(90 * 99) / Math.sqrt(100 * 110), 12);
    // run-level spread makes a real interval, not the zero width of identical trials
    expect(row.ciHigh! - row.ciLow!).toBeGreaterThan(0.05);
    await store.close();
  });

  test('a filter narrows every group by host and time, and chooses the compared groups by platform and label', async () => {
    // Runs start at t = 1000, 1002, 1004, … in this order.
    const store = await storeWith([
      { id: 'n-a', platform: 'native', host: 'a', samples: (id) => [sample(id, 'cpu.int32', [100, 100, 100])] },
      { id: 'n-b', platform: 'native', host: 'b', samples: (id) => [sample(id, 'cpu.int32', [50, 50, 50])] },
      { id: 'k-a', platform: 'kvm', host: 'a', samples: (id) => [sample(id, 'cpu.int32', [80, 80, 80])] },
      { id: 'k-b', platform: 'kvm', host: 'b', samples: (id) => [sample(id, 'cpu.int32', [45, 45, 45])] },
      { id: 'x-a', platform: 'xen', host: 'a', label: 'pv', samples: (id) => [sample(id, 'cpu.int32', [90, 90, 90])] },
      { id: 'n-a2', platform: 'native', host: 'a', samples: (id) => [sample(id, 'cpu.int32', [200, 200, 200])] },
    ]);
    const onA = await compare(store, { filter: { hostname: 'a', until: 1008 } });
    expect(onA.baselineRunIds).toEqual(['n-a']);
    expect(onA.groups.map((g) => g.key)).toEqual(['native', 'kvm', 'xen/pv']);
    expect(onA.groups[1]!.benchmarks[0]!.relative).toBeCloseTo(0.8, 12);
    const kvmOnly = await compare(store, { filter: { platform: 'kvm', hostname: 'b' } });
    expect(kvmOnly.groups.map((g) => [g.key, g.runIds])).toEqual([['native', ['n-b']], ['kvm', ['k-b']]]);
    expect(kvmOnly.groups[1]!.benchmarks[0]!.relative).toBeCloseTo(0.9, 12);
    const labelled = await compare(store, { filter: { label: 'pv', since: 1001 } });
    expect(labelled.groups.map((g) => [g.key, g.runIds])).toEqual([['native', ['n-a2', 'n-b']], ['xen/pv', ['x-a']]]);
    await store.close();
  });

  test('with no baseline runs every row is flagged no-baseline', async () => {
    const store = await storeWith([{ id: 'k1', platform: 'kvm', samples: (id) => [sample(id, 'cpu.int32', [90, 91, 89])] }]);
    const result = await compare(store);
    expect(result.baselineRunIds).toEqual([]);
    expect(result.groups[0]!.benchmarks[0]!.flags).toContain('no-baseline');
    expect(result.groups[0]!.overallGeomean).toBeUndefined();
    await store.close();
  });
});
