// One contract, two stores: every case runs against SQLite and against PostgreSQL, so that
// `--db postgres://…` behaves exactly as the embedded default does.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TokenRecord } from '../auth/tokens';
import { EMPTY_INVENTORY, type AgentRecord, type SampleRecord } from '../model';
import { openTestDatabase, planTestPostgres, warnSkipped, type TestDatabase } from '../../test/helpers/test-postgres';
import { POSTGRES_MIGRATIONS } from './postgres-migrations';
import { PostgresStore } from './postgres-store';
import { SQLITE_MIGRATIONS } from './sqlite-migrations';
import { SqliteStore } from './sqlite-store';
import { isStoreError, type NewRun, type Store } from './store';

function agent(id: string, over: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    hostname: `${id}.example`,
    declaredPlatform: '',
    detectedPlatform: 'kvm',
    platform: 'kvm',
    evidence: [{ source: '/sys/class/dmi/id/sys_vendor', value: 'QEMU', suggests: 'kvm' }],
    inventory: { ...EMPTY_INVENTORY, hostname: `${id}.example`, cpuModel: 'AMD EPYC 7B13', cpus: 4, memoryBytes: 8 * 2 ** 30, kernel: '6.1.0-18-amd64', clocksource: 'kvm-clock' },
    agentVersion: '0.1.0',
    enrolledAtMs: 1_000,
    ...over,
  };
}

function newRun(id: string, agentId: string, startedAtMs: number, over: Partial<NewRun> = {}): NewRun {
  return { id, agentId, label: '', profile: 'smoke', agentVersion: '0.1.0', startedAtMs, jobId: '', ...over };
}

function sample(runId: string, name: string, over: Partial<SampleRecord> = {}): SampleRecord {
  return {
    id: `${runId}:${name}`, runId, benchmarkId: name, metric: 'throughput', unit: 'Mops/s', direction: 'higher', value: 101.25,
    trials: [100.5, 101.25, 102.0000001], trialCount: 3, rsd: 0.0073, stealFraction: 0.0004, parameters: { size: '64', mode: 'seq' },
    primary: true, clocksource: 'tsc', durationSeconds: 1.5, finishedAtMs: 2_000, ...over,
  };
}

interface Backend {
  /** An empty store; the same object for every test of a file is fine. */
  fresh(): Promise<Store>;
  close(): Promise<void>;
}

function sqliteBackend(): Backend {
  let store: SqliteStore | undefined;
  return {
    async fresh() {
      await store?.close();
      store = new SqliteStore(':memory:');
      return store;
    },
    async close() {
      await store?.close();
    },
  };
}

function postgresBackend(db: () => TestDatabase): Backend {
  let store: PostgresStore | undefined;
  return {
    async fresh() {
      store ??= await PostgresStore.open(db().url);
      // Empty every table but the migration record, whatever tables later migrations add.
      const c = new pg.Client({ connectionString: db().url });
      await c.connect();
      try {
        const { rows } = await c.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'");
        if (rows.length > 0) await c.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
      } finally {
        await c.end();
      }
      return store;
    },
    async close() {
      await store?.close();
    },
  };
}

function contract(name: string, makeBackend: () => Backend): void {
  describe(`Store contract: ${name}`, () => {
    let backend: Backend;
    let store: Store;
    beforeAll(() => {
      backend = makeBackend();
    });
    beforeEach(async () => {
      store = await backend.fresh();
    });
    afterAll(async () => {
      await backend?.close();
    });

    test('upsertAgent stores an agent and replaces it on re-enrollment', async () => {
      expect(await store.getAgent('a1')).toBeUndefined();
      await store.upsertAgent(agent('a1'));
      expect(await store.getAgent('a1')).toEqual(agent('a1'));
      const moved = agent('a1', { hostname: 'renamed', declaredPlatform: 'xen', platform: 'xen', agentVersion: '0.2.0', enrolledAtMs: 5_000 });
      await store.upsertAgent(moved);
      expect(await store.getAgent('a1')).toEqual(moved);
    });

    test('startRun files the run under its agent as enrolled, and a retried start returns the stored run', async () => {
      await store.upsertAgent(agent('a1'));
      const first = await store.startRun(newRun('r1', 'a1', 10_000, { label: 'virtio-scsi', jobId: 'job-1' }));
      expect(first).toMatchObject({
        id: 'r1', agentId: 'a1', hostname: 'a1.example', platform: 'kvm', detectedPlatform: 'kvm', label: 'virtio-scsi', profile: 'smoke',
        status: 'running', startedAtMs: 10_000, endedAtMs: undefined, error: '', sampleCount: 0, jobId: 'job-1',
      });
      expect(first.inventory).toEqual(agent('a1').inventory);
      expect(first.evidence).toEqual(agent('a1').evidence);
      // The agent re-enrolls with other facts: the started run keeps those it started with.
      await store.upsertAgent(agent('a1', { hostname: 'later' }));
      const retry = await store.startRun(newRun('r1', 'a1', 99_999));
      expect(retry).toEqual(first);
      expect(await store.listRuns()).toHaveLength(1);
    });

    test('a run configuration is stored with every field, replaced when recorded again, and read back in the order asked', async () => {
      const first = { runId: 'r1', settings: { disk_bus: 'sata', nic: 'e1000', cpu_model: 'qemu64' }, hostKernel: '6.1.0-57-cloud-amd64', qemuVersion: '7.2.22', libvirtVersion: '9.0.0', accelerator: 'tcg', recordedAtMs: 1_700_000_000_123 };
      await store.putRunConfiguration(first);
      await store.putRunConfiguration({ ...first, runId: 'r2', settings: { disk_bus: 'virtio-blk' } });
      expect(await store.getRunConfigurations(['r2', 'missing', 'r1'])).toEqual([{ ...first, runId: 'r2', settings: { disk_bus: 'virtio-blk' } }, first]);
      const again = { ...first, settings: { disk_bus: 'ide' }, accelerator: 'kvm', recordedAtMs: 1_700_000_000_999 };
      await store.putRunConfiguration(again);
      expect(await store.getRunConfigurations(['r1'])).toEqual([again]);
      expect(await store.getRunConfigurations([])).toEqual([]);
    });

    test('startRun for an agent that never enrolled is a StoreError and stores nothing', async () => {
      const err = await store.startRun(newRun('r1', 'ghost', 1)).catch((e: unknown) => e);
      expect(isStoreError(err)).toBe(true);
      expect((err as Error).message).toMatch(/agent ghost has not enrolled/);
      expect(await store.getRun('r1')).toBeUndefined();
    });

    test('insertSamples stores every field exactly, and a resend is acknowledged but not duplicated', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      const batch = [
        sample('r1', 'cpu.int32'),
        sample('r1', 'sys.clock', { metric: 'latency', unit: 'ns', direction: 'lower', value: 21.5, trials: [21, 22], trialCount: 2, primary: false, parameters: {} }),
      ];
      expect(await store.insertSamples('r1', batch)).toEqual({ acked: ['r1:cpu.int32', 'r1:sys.clock'], inserted: 2 });
      // The resend holds one new sample beside the two stored ones.
      const resend = [...batch, sample('r1', 'mem.bandwidth', { finishedAtMs: 3_000 })];
      expect(await store.insertSamples('r1', resend)).toEqual({ acked: ['r1:cpu.int32', 'r1:sys.clock', 'r1:mem.bandwidth'], inserted: 1 });
      const stored = await store.getSamples(['r1']);
      expect(stored).toHaveLength(3);
      expect(stored.find((s) => s.id === 'r1:cpu.int32')).toEqual(batch[0]);
      expect(stored.find((s) => s.id === 'r1:sys.clock')).toEqual(batch[1]);
      expect((await store.getRun('r1'))?.sampleCount).toBe(3);
      expect(await store.insertSamples('r1', [])).toEqual({ acked: [], inserted: 0 });
    });

    test('aggregateCells counts finished runs only, late samples once, and the same whether narrowed or not', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      await store.startRun(newRun('r2', 'a1', 2));
      await store.insertSamples('r1', [sample('r1', 'cpu.int32', { value: 4, trials: [2, 8], trialCount: 2 })]);
      await store.insertSamples('r2', [sample('r2', 'cpu.int32', { value: 9, trials: [9, 9, 9], trialCount: 3 })]);
      expect(await store.aggregateCells({})).toEqual([]); // nothing finished yet
      await store.endRun('r1', { status: 'completed', error: '', endedAtMs: 5 });
      await store.markLostRuns(10, 20); // r2's heartbeat (at start) is older: lost, and counted
      await store.endRun('r2', { status: 'completed', error: '', endedAtMs: 30 }); // lost → completed: not counted twice
      // a late sample of a finished run, and a resend of a counted one
      await store.insertSamples('r1', [sample('r1', 'cpu.int32', { value: 4, trials: [2, 8], trialCount: 2 }), sample('r1', 'mem.bandwidth', { value: 3, trials: [3], trialCount: 1 })]);
      const cells = await store.aggregateCells({});
      const narrowed = await store.aggregateCells({ since: 0 });
      const byId = (xs: typeof cells) => Object.fromEntries(xs.map((c) => [c.benchmarkId, c]));
      const cpu = byId(cells)['cpu.int32']!;
      expect(cpu).toMatchObject({ platform: 'kvm', label: '', runs: 2, valueN: 2, valueSum: 13, valueMin: 4, trialN: 5, trialSum: 37, trialMin: 2, agentMajor: '0' });
      expect(cpu.valueLogSum).toBeCloseTo(Math.log(4) + Math.log(9), 12);
      expect(cpu.trialLogSumSq).toBeCloseTo(Math.log(2) ** 2 + Math.log(8) ** 2 + 3 * Math.log(9) ** 2, 12);
      expect(byId(cells)['mem.bandwidth']).toMatchObject({ runs: 1, valueN: 1, trialN: 1 });
      for (const c of cells) expect(byId(narrowed)[c.benchmarkId]).toEqual(expect.objectContaining({ ...c, valueLogSum: expect.closeTo(c.valueLogSum, 9), valueLogSumSq: expect.closeTo(c.valueLogSumSq, 9), trialLogSum: expect.closeTo(c.trialLogSum, 9), trialLogSumSq: expect.closeTo(c.trialLogSumSq, 9) }));
      expect(await store.groupRuns({})).toEqual([{ platform: 'kvm', label: '', runIds: ['r2', 'r1'], hostnames: ['a1.example'] }]);
      expect(await store.aggregateCells({ hostname: 'elsewhere' })).toEqual([]);
    });

    test('a resend never overwrites: the first value stored for an id stays', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      await store.insertSamples('r1', [sample('r1', 'cpu.int32', { value: 1 })]);
      await store.insertSamples('r1', [sample('r1', 'cpu.int32', { value: 2 })]);
      expect((await store.getSamples(['r1'])).map((s) => s.value)).toEqual([1]);
    });

    test('sampleIdsOwnedElsewhere names the ids stored under another run, in the order asked', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      await store.startRun(newRun('r2', 'a1', 2));
      await store.insertSamples('r1', [sample('r1', 'a'), sample('r1', 'b')]);
      await store.insertSamples('r2', [sample('r2', 'c')]);
      expect(await store.sampleIdsOwnedElsewhere('r2', ['r1:b', 'r2:c', 'unknown', 'r1:a'])).toEqual(['r1:b', 'r1:a']);
      expect(await store.sampleIdsOwnedElsewhere('r1', ['r1:a', 'r1:b'])).toEqual([]);
      expect(await store.sampleIdsOwnedElsewhere('r1', [])).toEqual([]);
    });

    test('endRun ends a run once: a second end changes nothing', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      const ended = await store.endRun('r1', { status: 'completed', error: '', endedAtMs: 5_000 });
      expect(ended).toMatchObject({ status: 'completed', endedAtMs: 5_000, error: '' });
      const again = await store.endRun('r1', { status: 'failed', error: 'late', endedAtMs: 9_000 });
      expect(again).toMatchObject({ status: 'completed', endedAtMs: 5_000, error: '' });
      expect(await store.endRun('nope', { status: 'failed', error: '', endedAtMs: 1 })).toBeUndefined();
    });

    test('recordHeartbeat moves the last heartbeat', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      await store.recordHeartbeat('r1', 1_234_567_890_123);
      expect((await store.getRun('r1'))?.lastHeartbeatMs).toBe(1_234_567_890_123);
    });

    test('listRuns filters by platform, label, host, status and start time, newest first, ties by id', async () => {
      await store.upsertAgent(agent('kvm1'));
      await store.upsertAgent(agent('xen1', { platform: 'xen', detectedPlatform: 'xen', hostname: 'xenhost' }));
      await store.startRun(newRun('k-b', 'kvm1', 1_000));
      await store.startRun(newRun('k-a', 'kvm1', 1_000));
      await store.startRun(newRun('k-virtio', 'kvm1', 2_000, { label: 'virtio' }));
      await store.startRun(newRun('x-1', 'xen1', 3_000));
      await store.endRun('k-b', { status: 'completed', error: '', endedAtMs: 1_500 });
      await store.endRun('x-1', { status: 'lost', error: 'no heartbeat', endedAtMs: 3_500 });
      const ids = async (f: Parameters<Store['listRuns']>[0]): Promise<string[]> => (await store.listRuns(f)).map((r) => r.id);
      expect(await ids(undefined)).toEqual(['x-1', 'k-virtio', 'k-a', 'k-b']);
      expect(await ids({ platform: 'kvm' })).toEqual(['k-virtio', 'k-a', 'k-b']);
      expect(await ids({ platform: 'kvm', label: '' })).toEqual(['k-a', 'k-b']);
      expect(await ids({ label: 'virtio' })).toEqual(['k-virtio']);
      expect(await ids({ hostname: 'xenhost' })).toEqual(['x-1']);
      expect(await ids({ statuses: ['completed', 'lost'] })).toEqual(['x-1', 'k-b']);
      expect(await ids({ statuses: ['running'] })).toEqual(['k-virtio', 'k-a']);
      expect(await ids({ since: 2_000 })).toEqual(['x-1', 'k-virtio']);
      expect(await ids({ until: 2_000 })).toEqual(['k-virtio', 'k-a', 'k-b']);
      expect(await ids({ since: 1_001, until: 2_999 })).toEqual(['k-virtio']);
      expect(await ids({ limit: 2 })).toEqual(['x-1', 'k-virtio']);
      expect(await ids({ platform: 'vmware' })).toEqual([]);
    });

    test('getSamples answers in the order of the runs asked for, each in the order it finished them', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('r1', 'a1', 1));
      await store.startRun(newRun('r2', 'a1', 2));
      await store.insertSamples('r1', [sample('r1', 'late', { finishedAtMs: 9 }), sample('r1', 'early', { finishedAtMs: 1 })]);
      await store.insertSamples('r2', [sample('r2', 'only', { finishedAtMs: 5 })]);
      expect((await store.getSamples(['r2', 'r1'])).map((s) => s.id)).toEqual(['r2:only', 'r1:early', 'r1:late']);
      expect((await store.getSamples(['r1'])).map((s) => s.id)).toEqual(['r1:early', 'r1:late']);
      expect(await store.getSamples([])).toEqual([]);
      expect(await store.getSamples(['none'])).toEqual([]);
    });

    test('text from guests comes back as it was sent', async () => {
      const odd = `<script>alert("x")</script> ' " \\ % _ ünïcødé 🖥️ ${'x'.repeat(300)}`;
      await store.upsertAgent(agent('a1', { hostname: odd, evidence: [{ source: odd, value: odd, suggests: 'kvm' }] }));
      const run = await store.startRun(newRun('r1', 'a1', 1, { label: 'l/with/slashes' }));
      expect(run.hostname).toBe(odd);
      expect(run.evidence[0]?.value).toBe(odd);
      expect((await store.listRuns({ hostname: odd })).map((r) => r.id)).toEqual(['r1']);
      // LIKE-style wildcards in a filter are plain characters.
      expect(await store.listRuns({ hostname: '%' })).toEqual([]);
    });

    test('countRunsByStatus and markLostRuns: a silent running run becomes lost, once', async () => {
      await store.upsertAgent(agent('a1'));
      await store.startRun(newRun('quiet', 'a1', 1));
      await store.startRun(newRun('chatty', 'a1', 2));
      await store.recordHeartbeat('quiet', 1_000);
      await store.recordHeartbeat('chatty', 50_000);
      const lost = await store.markLostRuns(10_000, 60_000);
      expect(lost.map((r) => [r.id, r.status, r.endedAtMs])).toEqual([['quiet', 'lost', 60_000]]);
      expect(await store.markLostRuns(10_000, 70_000)).toEqual([]);
      expect(await store.countRunsByStatus()).toEqual({ lost: 1, running: 1 });
    });

    test('a job assignment is taken once, oldest job first', async () => {
      await store.createJob({ id: 'j2', platform: 'kvm', profile: 'quick', label: '', createdAtMs: 20 }, ['a1']);
      await store.createJob({ id: 'j1', platform: '', profile: 'smoke', label: 'x', createdAtMs: 10 }, ['a1', 'a2']);
      expect((await store.takePendingJob('a1', 100))?.id).toBe('j1');
      expect((await store.takePendingJob('a1', 101))?.id).toBe('j2');
      expect(await store.takePendingJob('a1', 102)).toBeUndefined();
      const j1 = await store.getJob('j1');
      expect(j1?.assignments.map((a) => [a.agentId, a.state])).toEqual([['a1', 'taken'], ['a2', 'assigned']]);
      expect(j1?.state).toBe('running');
      expect((await store.listJobs(10)).map((j) => j.job.id)).toEqual(['j2', 'j1']);
      expect(await store.getJob('nope')).toBeUndefined();
    });

    test('tokens: stored, listed, bound to the first agent that enrolls, revoked by id or name', async () => {
      const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
        id, name: 'fleet', kind: 'agent', platform: '', secretHash: 'ab'.repeat(32), createdAtMs: 10, expiresAtMs: undefined, revokedAtMs: undefined, agentId: '', ...over,
      });
      await store.createToken(token('t2', { createdAtMs: 20, kind: 'operator', name: 'ops', expiresAtMs: 99 }));
      await store.createToken(token('t1'));
      expect(await store.getToken('t2')).toEqual(token('t2', { createdAtMs: 20, kind: 'operator', name: 'ops', expiresAtMs: 99 }));
      expect(await store.getToken('nope')).toBeUndefined();
      expect((await store.listTokens()).map((t) => t.id)).toEqual(['t1', 't2']);
      expect(await store.bindToken('t1', 'agent-a')).toBe('agent-a');
      expect(await store.bindToken('t1', 'agent-b')).toBe('agent-a');
      expect((await store.revokeTokens('fleet', 50)).map((t) => [t.id, t.revokedAtMs])).toEqual([['t1', 50]]);
      expect(await store.revokeTokens('fleet', 60)).toEqual([]);
      expect((await store.revokeTokens('t2', 70)).map((t) => t.id)).toEqual(['t2']);
      expect((await store.getToken('t1'))?.revokedAtMs).toBe(50);
    });

    test('forwarded log lines come back in the order stored', async () => {
      const line = (i: number) => ({ agentId: 'a1', runId: 'r1', timeMs: 100 - i, level: 'info', message: `line ${i}`, fieldsJson: `{"i":${i}}` });
      expect(await store.insertLogs([line(0), line(1), line(2)])).toBe(3);
      await store.insertLogs([line(3)]);
      expect((await store.getLogs('r1', 10)).map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2', 'line 3']);
      expect(await store.getLogs('r1', 2)).toEqual([line(0), line(1)]);
      expect(await store.getLogs('other', 10)).toEqual([]);
    });
  });
}

contract('SQLite', sqliteBackend);

const pgPlan = planTestPostgres();
if (pgPlan.kind === 'skip') {
  // Said loudly (and refused under CI=true, see planTestPostgres); the PostgreSQL half is
  // simply not defined here, rather than defined and skipped.
  warnSkipped('store-contract.test.ts', pgPlan.reason);
} else {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await openTestDatabase(pgPlan);
  }, 600_000);
  afterAll(async () => {
    await db?.close();
  });
  const current = (): TestDatabase => {
    if (db === undefined) throw new Error('the test database did not open');
    return db;
  };
  contract('PostgreSQL', () => postgresBackend(current));

  test('PostgreSQL has every table and column of the SQLite schema (a new SQLite migration needs its PostgreSQL twin)', async () => {
    // The SQLite migrations applied to a bare database, to read its catalogue.
    const raw = new Database(':memory:');
    for (const m of SQLITE_MIGRATIONS) raw.exec(m.sql);
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    const sqliteColumns = tables.flatMap((t) => (raw.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).map((c) => `${t}.${c}`));
    raw.close();
    const backend = postgresBackend(current);
    await backend.fresh();
    await backend.close();
    const c = new pg.Client({ connectionString: current().url });
    await c.connect();
    const { rows } = await c.query<{ c: string }>(
      "SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'",
    );
    await c.end();
    // Samples keep their trials as a native array in PostgreSQL, as JSON text in SQLite.
    const rename = (col: string): string => (col === 'samples.trials_json' ? 'samples.trials' : col);
    // SQLite keeps the comparison's sufficient statistics up to date (cell_stats, kept by
    // triggers from the trial_* columns); PostgreSQL aggregates them at query time instead.
    const sqliteOnly = (col: string): boolean => col.startsWith('cell_stats.') || /^samples\.trial_(n|sum|min|log_sum|log_sumsq)$/.test(col);
    expect(rows.map((r) => r.c).sort()).toEqual(sqliteColumns.filter((c) => !sqliteOnly(c)).map(rename).sort());
  });

  describe('PostgreSQL: several collectors on one database', () => {
    test('collectors starting together migrate the schema once', async () => {
      // A database of its own, so that the migration really runs here.
      const other = new URL(current().url);
      const name = `${other.pathname.slice(1)}_race`;
      const admin = new pg.Client({ connectionString: current().url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      other.pathname = `/${name}`;
      try {
        const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(other.toString(), { maxConnections: 2 })));
        const c = new pg.Client({ connectionString: other.toString() });
        await c.connect();
        const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        await c.end();
        expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    });

    test('what one collector stores, another sees; a resend through the other is not duplicated', async () => {
      const first = postgresBackend(current);
      const a = await first.fresh();
      const b = await PostgresStore.open(current().url);
      try {
        await a.upsertAgent(agent('a1'));
        await b.startRun(newRun('r1', 'a1', 1));
        const batch = [sample('r1', 'x'), sample('r1', 'y')];
        // The agent's connection moves to the other collector mid-batch: both commit, once.
        await Promise.all([a.insertSamples('r1', batch), b.insertSamples('r1', batch)]);
        expect((await a.getSamples(['r1'])).map((s) => s.id)).toEqual(['r1:x', 'r1:y']);
        expect((await b.endRun('r1', { status: 'completed', error: '', endedAtMs: 2 }))?.status).toBe('completed');
        expect((await a.getRun('r1'))?.status).toBe('completed');
      } finally {
        await b.close();
        await first.close();
      }
    });

    test('an assignment asked for through several collectors at once is handed out once', async () => {
      const first = postgresBackend(current);
      const a = await first.fresh();
      const b = await PostgresStore.open(current().url);
      try {
        await a.createJob({ id: 'j1', platform: '', profile: 'smoke', label: '', createdAtMs: 1 }, ['a1']);
        const taken = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).takePendingJob('a1', 10 + i)));
        expect(taken.filter((j) => j !== undefined).map((j) => j?.id)).toEqual(['j1']);
      } finally {
        await b.close();
        await first.close();
      }
    });

    test('a NUL character, which PostgreSQL text cannot hold, is stored as U+FFFD instead of failing', async () => {
      const backend = postgresBackend(current);
      const s = await backend.fresh();
      try {
        await s.upsertAgent(agent('a1', { hostname: 'bad\u0000host' }));
        expect((await s.getAgent('a1'))?.hostname).toBe('bad\uFFFDhost');
      } finally {
        await backend.close();
      }
    });

    test('a wrong URL fails with a message that names the database and hides the password', async () => {
      const u = new URL(current().url);
      u.password = 's3cret';
      u.pathname = '/no_such_database';
      const err = await PostgresStore.open(u.toString()).catch((e: unknown) => e);
      expect(isStoreError(err)).toBe(true);
      expect((err as Error).message).toMatch(/cannot open PostgreSQL database .*no_such_database/);
      expect((err as Error).message).not.toContain('s3cret');
    });
  });
}
