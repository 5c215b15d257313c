// Comparisons never mix methods: a guest's web sample made with one load-generator
// transport is compared only with a native sample made with the same one.
import { EMPTY_INVENTORY, type SampleRecord } from '../model';
import { SqliteStore } from '../store/sql-store';
import { compare } from './compare';

function webSample(runId: string, rps: number[], transport: string): SampleRecord {
  return {
    id: `${runId}:web.static_small:rps`,
    runId,
    benchmarkId: 'web.static_small',
    metric: 'rps',
    unit: 'req/s',
    direction: 'higher',
    value: rps.reduce((a, b) => a + b, 0) / rps.length,
    trials: rps,
    trialCount: rps.length,
    rsd: 0.01,
    stealFraction: 0,
    parameters: {
      page: '/static/small.html',
      server: 'builtin',
      generator: transport === 'ab' ? 'ab' : 'builtin',
      transport,
      concurrency: '4',
      keepAlive: 'off',
      pipelining: '1',
    },
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: 1,
    flags: [],
  };
}

test('a sample is paired only with a baseline made with the same transport', async () => {
  const store = new SqliteStore(':memory:');
  try {
    let t = 1;
    const runs: [string, string, string, number[]][] = [
      ['n-handle', 'native', 'handle', [1000, 1010, 990]],
      ['n-ab', 'native', 'ab', [700, 705, 695]],
      ['k-handle', 'kvm', 'handle', [900, 909, 891]],
      ['k-net', 'kvm', 'net', [800, 808, 792]],
      ['k-ab', 'kvm', 'ab', [630, 636, 624]],
    ];
    for (const [id, platform, transport, rps] of runs) {
      const agentId = `agent-${platform}`;
      await store.upsertAgent({
        id: agentId,
        hostname: agentId,
        declaredPlatform: '',
        detectedPlatform: platform,
        platform,
        evidence: [],
        inventory: EMPTY_INVENTORY,
        agentVersion: '0.1.0',
        enrolledAtMs: 1,
      });
      await store.startRun({ id, agentId, label: '', profile: 'smoke', agentVersion: '0.1.0', startedAtMs: t++, jobId: '' });
      await store.insertSamples(id, [webSample(id, rps, transport)]);
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: t++ });
    }
    const kvm = (await compare(store)).groups.find((g) => g.key === 'kvm')!;
    const byTransport = Object.fromEntries(kvm.benchmarks.map((b) => [(JSON.parse(b.parameters) as Record<string, string>)['transport'], b]));
    expect(Object.keys(byTransport).sort()).toEqual(['ab', 'handle', 'net']);
    // handle against handle, ab against ab: each 0.9; never kvm's ab against native's handle (0.63)
    expect(byTransport['handle']!.relative).toBeCloseTo(0.9, 3);
    expect(byTransport['ab']!.relative).toBeCloseTo(0.9, 3);
    // no native run used node:net: no ratio at all rather than one against another transport
    expect(byTransport['net']!.relative).toBeUndefined();
    expect(byTransport['net']!.flags).toContain('no-baseline');
  } finally {
    await store.close();
  }
});
