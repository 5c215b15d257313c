import type { AgentRecord, SampleRecord } from '../model';
import { EMPTY_INVENTORY } from '../model';
import { SqliteStore } from '../store/sql-store';
import { compare } from './compare';

function agent(id: string, platform: string): AgentRecord {
  return {
    id,
    hostname: `${id}-host`,
    declaredPlatform: '',
    detectedPlatform: platform,
    platform,
    evidence: [{ source: '/sys/class/dmi/id/sys_vendor', value: platform, suggests: platform }],
    inventory: { ...EMPTY_INVENTORY, cpuModel: `${platform} cpu`, cpus: 2 },
    agentVersion: '0.1.0',
    enrolledAtMs: 1,
  };
}

function sample(runId: string, benchmarkId: string, trials: number[], over: Partial<SampleRecord> = {}): SampleRecord {
  const value = trials.reduce((a, b) => a + b, 0) / trials.length;
  return {
    id: `${runId}:${benchmarkId}:${over.metric ?? 'throughput'}`,
    runId,
    benchmarkId,
    metric: 'throughput',
    unit: 'ops/s',
    direction: 'higher',
    value,
    trials,
    trialCount: trials.length,
    rsd: 0.01,
    stealFraction: 0,
    parameters: { size: '1' },
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: 1,
    flags: [],
    ...over,
  };
}

async function storeWith(
  runs: { id: string; platform: string; label?: string; version?: string; host?: string; samples: (runId: string) => SampleRecord[] }[],
): Promise<SqliteStore> {
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
      {
        id: 'n1',
        platform: 'native',
        samples: (id) => [
          sample(id, 'cpu.int32', [100, 100, 100]),
          sample(id, 'sys.clock', [20, 20, 20], { direction: 'lower', unit: 'ns', metric: 'latency' }),
        ],
      },
      {
        id: 'k1',
        platform: 'kvm',
        samples: (id) => [sample(id, 'cpu.int32', [80, 80, 80]), sample(id, 'sys.clock', [40, 40, 40], { direction: 'lower', unit: 'ns', metric: 'latency' })],
      },
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
    expect(kvmOnly.groups.map((g) => [g.key, g.runIds])).toEqual([
      ['native', ['n-b']],
      ['kvm', ['k-b']],
    ]);
    expect(kvmOnly.groups[1]!.benchmarks[0]!.relative).toBeCloseTo(0.9, 12);
    const labelled = await compare(store, { filter: { label: 'pv', since: 1001 } });
    expect(labelled.groups.map((g) => [g.key, g.runIds])).toEqual([
      ['native', ['n-a2', 'n-b']],
      ['xen/pv', ['x-a']],
    ]);
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

describe('compare: what explains a surprising ratio', () => {
  test('above-native only when the whole interval is above 1.0; far-below-native under 0.05', async () => {
    const store = await storeWith([
      {
        id: 'n1',
        platform: 'native',
        samples: (id) => [sample(id, 'cpu.a', [100, 100, 100]), sample(id, 'cpu.b', [100, 100, 100]), sample(id, 'cpu.c', [100, 100, 100])],
      },
      {
        id: 'n2',
        platform: 'native',
        samples: (id) => [sample(id, 'cpu.a', [102, 102, 102]), sample(id, 'cpu.b', [102, 102, 102]), sample(id, 'cpu.c', [102, 102, 102])],
      },
      { id: 'k1', platform: 'kvm', samples: (id) => [sample(id, 'cpu.a', [130, 130, 130]), sample(id, 'cpu.b', [80, 80, 80]), sample(id, 'cpu.c', [1, 1, 1])] },
      {
        id: 'k2',
        platform: 'kvm',
        samples: (id) => [sample(id, 'cpu.a', [131, 131, 131]), sample(id, 'cpu.b', [150, 150, 150]), sample(id, 'cpu.c', [1, 1, 1])],
      },
    ]);
    const kvm = (await compare(store)).groups.find((g) => g.key === 'kvm')!;
    const row = (id: string) => kvm.benchmarks.find((b) => b.benchmarkId === id)!;
    expect(row('cpu.a').flags).toContain('above-native');
    // above 1.0, but its runs disagree so much that the interval holds 1.0: within noise
    expect(row('cpu.b').relative!).toBeGreaterThan(1);
    expect(row('cpu.b').ciLow!).toBeLessThan(1);
    expect(row('cpu.b').flags).not.toContain('above-native');
    expect(row('cpu.c').flags).toContain('far-below-native');
    expect(row('cpu.a').ciMethod).toBe('between-runs');
    expect(row('cpu.a').minDetectable!).toBeGreaterThan(row('cpu.a').halfWidth!);
    await store.close();
  });

  test('a sample the agent doubted (not-settled, not-optimized, optimization-unverified) on either side flags its row harness-doubt', async () => {
    const store = await storeWith([
      {
        id: 'n1',
        platform: 'native',
        samples: (id) => [
          sample(id, 'cpu.a', [100, 100]),
          sample(id, 'cpu.b', [100, 100], { flags: ['optimization-unverified'] }),
          sample(id, 'cpu.c', [100, 100]),
        ],
      },
      {
        id: 'k1',
        platform: 'kvm',
        samples: (id) => [
          sample(id, 'cpu.a', [5, 5], { flags: ['not-optimized'] }),
          sample(id, 'cpu.b', [90, 90]),
          sample(id, 'cpu.c', [90, 90], { flags: ['trial-retried'] }),
        ],
      },
      { id: 'x1', platform: 'xen', samples: (id) => [sample(id, 'cpu.d', [1, 1], { flags: ['not-settled'] })] },
    ]);
    const result = await compare(store);
    const row = (group: string, id: string) => result.groups.find((g) => g.key === group)!.benchmarks.find((b) => b.benchmarkId === id)!;
    expect(row('kvm', 'cpu.a').flags).toContain('harness-doubt');
    expect(row('kvm', 'cpu.b').flags).toContain('harness-doubt'); // the baseline's sample was doubted
    expect(row('kvm', 'cpu.c').flags).not.toContain('harness-doubt'); // a retried trial is no doubt
    expect(row('xen', 'cpu.d').flags).toEqual(expect.arrayContaining(['harness-doubt', 'no-baseline']));
    await store.close();
  });

  test('a baseline declared native but detected as something else says it is not bare metal; drifting clocks and single runs are noted', async () => {
    const store = new SqliteStore(':memory:');
    await store.upsertAgent({ ...agent('host', 'native'), declaredPlatform: 'native', detectedPlatform: 'other', hostname: 'h1' });
    await store.upsertAgent({ ...agent('guest', 'kvm'), declaredPlatform: 'kvm', detectedPlatform: 'qemu' });
    let t = 1000;
    for (const [id, agentId] of [
      ['n1', 'host'],
      ['n2', 'host'],
      ['k1', 'guest'],
    ] as const) {
      await store.startRun({ id, agentId, label: '', profile: 'smoke', agentVersion: '0.1.0', startedAtMs: t++, jobId: '' });
      await store.insertSamples(id, [sample(id, 'cpu.int32', id === 'n2' ? [101, 102, 103] : [100, 101, 102])]);
      // k1's guest clock runs 3 % fast over 10 s
      if (id === 'k1') for (const s of [0, 5_000, 10_000]) await store.recordHeartbeat(id, 2_000_000 + s, 7_000 + s * 1.03);
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: t++ });
    }
    const result = await compare(store);
    const [native, kvm] = result.groups;
    expect(native!.notes.map((n) => n.kind)).toEqual(['baseline-not-bare-metal']);
    expect(native!.notes[0]!.text).toMatch(/^baseline is not bare metal: .*detection said other on h1 \(2 of 2 runs\)/);
    expect(native!.runs.map((r) => [r.declaredPlatform, r.detectedPlatform])).toEqual([
      ['native', 'other'],
      ['native', 'other'],
    ]);
    expect(kvm!.notes.map((n) => n.kind)).toEqual(['detected-differs', 'clock-drift', 'one-run']);
    expect(kvm!.notes[1]!.text).toMatch(/worst 3\.00 % in run k1/);
    expect(kvm!.runs[0]!.clock.drift).toBe(true);
    expect(kvm!.ciMethod).toBe('borrowed-run-variance');
    // the baseline against itself is 1, without an interval
    expect(native!.benchmarks[0]!.relative).toBe(1);
    expect(native!.benchmarks[0]!.ciLow).toBeUndefined();
    await store.close();
  });
});

test('a benchmark missing from some runs is named as such, not as a group of one run', async () => {
  const store = await storeWith([
    { id: 'n1', platform: 'native', samples: (id) => [sample(id, 'cpu.a', [100, 101, 102]), sample(id, 'cpu.b', [100, 101, 102])] },
    { id: 'n2', platform: 'native', samples: (id) => [sample(id, 'cpu.a', [103, 104, 105]), sample(id, 'cpu.b', [103, 104, 105])] },
    { id: 'k1', platform: 'kvm', samples: (id) => [sample(id, 'cpu.a', [90, 91, 92]), sample(id, 'cpu.b', [90, 91, 92])] },
    { id: 'k2', platform: 'kvm', samples: (id) => [sample(id, 'cpu.a', [93, 94, 95])] },
  ]);
  const kvm = (await compare(store)).groups.find((g) => g.key === 'kvm')!;
  expect(kvm.benchmarks.map((b) => [b.benchmarkId, b.ciMethod])).toEqual([
    ['cpu.a', 'between-runs'],
    ['cpu.b', 'borrowed-run-variance'],
  ]);
  expect(kvm.notes.map((n) => n.text)).toEqual([
    '1 of 2 metrics have a single run on a side (a benchmark failed or was not run in the others): their intervals are borrowed-run-variance',
  ]);
  await store.close();
});
