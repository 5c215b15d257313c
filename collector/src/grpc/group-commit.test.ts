// Group commit over a real SQLite store: calls that arrive together share one transaction,
// each gets its own result, and a bad call fails alone.
import { EMPTY_INVENTORY, type SampleRecord } from '../model';
import { SqliteStore } from '../store/sql-store';
import type { SampleBatch } from '../store/store';
import { GroupCommitter } from './group-commit';

function sample(runId: string, name: string): SampleRecord {
  return {
    id: `${runId}:${name}`,
    runId,
    benchmarkId: name,
    metric: 'm',
    unit: 'ops/s',
    direction: 'higher',
    value: 1,
    trials: [1, 1],
    trialCount: 2,
    rsd: 0,
    stealFraction: 0,
    parameters: {},
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: 1,
    flags: [],
  };
}

/** The real store, recording the size of every group it was asked to write. */
class CountingStore extends SqliteStore {
  readonly groups: number[] = [];
  override async insertSampleBatches(batches: readonly SampleBatch[]) {
    this.groups.push(batches.length);
    return super.insertSampleBatches(batches);
  }
}

let store: CountingStore;

beforeEach(async () => {
  store = new CountingStore(':memory:');
  await store.upsertAgent({
    id: 'a1',
    hostname: 'h',
    declaredPlatform: '',
    detectedPlatform: 'kvm',
    platform: 'kvm',
    evidence: [],
    inventory: EMPTY_INVENTORY,
    agentVersion: '0.1.0',
    enrolledAtMs: 1,
  });
  for (const r of ['r1', 'r2', 'r3']) await store.startRun({ id: r, agentId: 'a1', label: '', profile: 'p', agentVersion: '0.1.0', startedAtMs: 1, jobId: '' });
});

afterEach(async () => {
  await store.close();
});

test('calls made together are one transaction, and each is answered with its own ids', async () => {
  const committer = new GroupCommitter(store);
  const calls = Array.from({ length: 60 }, (_, i) => {
    const runId = ['r1', 'r2', 'r3'][i % 3]!;
    return committer.insert(runId, [sample(runId, `b${i}`), sample(runId, `b${i}x`)]);
  });
  // The same call sent twice at once (a retry): acknowledged twice, stored once.
  calls.push(committer.insert('r1', [sample('r1', 'b0')]));
  const outcomes = await Promise.all(calls);
  expect(store.groups).toEqual([61]);
  outcomes.slice(0, 60).forEach((o, i) => {
    const runId = ['r1', 'r2', 'r3'][i % 3]!;
    expect(o).toEqual({ ok: true, result: { acked: [`${runId}:b${i}`, `${runId}:b${i}x`], inserted: 2 } });
  });
  expect(outcomes[60]).toEqual({ ok: true, result: { acked: ['r1:b0'], inserted: 0 } });
  expect((await store.getSamples(['r1', 'r2', 'r3'])).length).toBe(120);
});

test('a call after a commit started waits for it and goes with the next group; a group never exceeds maxSamples', async () => {
  const committer = new GroupCommitter(store, { maxSamples: 4 });
  const first = Array.from({ length: 5 }, (_, i) => committer.insert('r1', [sample('r1', `a${i}`), sample('r1', `a${i}y`)]));
  // One call larger than the limit is written alone, not split and not refused.
  const big = committer.insert(
    'r2',
    Array.from({ length: 9 }, (_, i) => sample('r2', `big${i}`)),
  );
  await Promise.all([...first, big]);
  expect(store.groups).toEqual([2, 2, 1, 1]);
  expect((await big).ok).toBe(true);
  expect((await store.getRun('r2'))?.sampleCount).toBe(9);
});

test('a call that cannot be stored fails alone; the others of its group are committed', async () => {
  const errors: number[] = [];
  const committer = new GroupCommitter(store, { onGroupError: (_err, calls) => errors.push(calls) });
  const good1 = committer.insert('r1', [sample('r1', 'x')]);
  const bad = committer.insert('no-such-run', [sample('no-such-run', 'y')]);
  const good2 = committer.insert('r2', [sample('r2', 'z')]);
  // Not rejects.toThrow(): better-sqlite3's errors may come from another test file's realm.
  expect(
    await bad.then(
      () => 'stored',
      (err: unknown) => String((err as { message?: unknown }).message),
    ),
  ).toMatch(/run no-such-run, which was never started/);
  expect(await good1).toEqual({ ok: true, result: { acked: ['r1:x'], inserted: 1 } });
  expect(await good2).toEqual({ ok: true, result: { acked: ['r2:z'], inserted: 1 } });
  expect(errors).toEqual([3]);
  expect((await store.getSamples(['r1', 'r2'])).map((s) => s.id).sort()).toEqual(['r1:x', 'r2:z']);
});

test('a sample id claimed by two runs in one group is refused for the later call, which stores nothing', async () => {
  const committer = new GroupCommitter(store);
  const first = committer.insert('r1', [sample('r1', 'shared')]);
  const thief = committer.insert('r2', [sample('r2', 'own'), { ...sample('r1', 'shared'), runId: 'r2' }]);
  expect(await first).toEqual({ ok: true, result: { acked: ['r1:shared'], inserted: 1 } });
  expect(await thief).toEqual({ ok: false, elsewhere: ['r1:shared'] });
  expect(await store.getSamples(['r2'])).toEqual([]);
});

test('a sample id stored under another run before is refused for its call alone; a resend to its own run is acknowledged', async () => {
  await store.insertSamples('r1', [sample('r1', 'old')]);
  store.groups.length = 0; // the store's insertSamples is a group of one
  const committer = new GroupCommitter(store);
  const thief = committer.insert('r2', [sample('r2', 'new'), { ...sample('r1', 'old'), runId: 'r2' }]);
  const resend = committer.insert('r1', [sample('r1', 'old'), sample('r1', 'more')]);
  const other = committer.insert('r3', [sample('r3', 'fine')]);
  expect(await thief).toEqual({ ok: false, elsewhere: ['r1:old'] });
  expect(await resend).toEqual({ ok: true, result: { acked: ['r1:old', 'r1:more'], inserted: 1 } });
  expect(await other).toEqual({ ok: true, result: { acked: ['r3:fine'], inserted: 1 } });
  expect(await store.getSamples(['r2'])).toEqual([]);
  expect(store.groups).toEqual([2]);
});
