// The fleet store: PostgreSQL through `pg` (pure JavaScript), so that several collectors can
// share one database. Same contract as the SQLite store; every write is one statement or
// one transaction, so concurrent collectors never see half of a batch.
import pg from 'pg';
import {
  canonicalParameters,
  type AgentRecord,
  type Direction,
  type JobAssignmentRecord,
  type JobRecord,
  type JobView,
  type LogRecord,
  type RunConfigurationRecord,
  type RunRecord,
  type RunStatus,
  type SampleRecord,
  type TokenRecord,
} from '../model';
import { redactPostgresUrl } from './database-spec';
import { POSTGRES_MIGRATIONS } from './postgres-migrations';
import type { Migration } from './sqlite-migrations';
import {
  StoreError,
  type AggregateFilter,
  type CellAggregate,
  type GroupRuns,
  type InsertResult,
  type JobAssignedListener,
  type NewRun,
  type PresenceCount,
  type PresenceRecord,
  type Rebinding,
  type RunEnd,
  type RunFilter,
  type SampleBatch,
  type Store,
  type TokenBinding,
} from './store';
import { clockUpdateSql, GROUP_RUN_COLUMNS, groupRunRows, pickOneToken, toAgent, toRun, toRunConfiguration, toToken, type AgentRow, type GroupRunRow, type RunConfigurationRow, type RunRow, type TokenRow } from './row-mappers';

export interface PostgresStoreOptions {
  /** Connections kept by this collector. @default 10 */
  readonly maxConnections?: number;
  /** Told about a connection that failed while idle (the pool replaces it). @default ignored */
  readonly onIdleError?: (err: Error) => void;
  /** Told when the LISTEN connection for job notifications fails (it reconnects by itself). @default ignored */
  readonly onListenError?: (err: Error) => void;
}

interface SampleRow {
  id: string;
  run_id: string;
  benchmark_id: string;
  metric: string;
  unit: string;
  direction: string;
  value: number;
  trials: number[];
  trial_count: number;
  rsd: number;
  steal_fraction: number;
  parameters_json: string;
  is_primary: boolean;
  clocksource: string;
  duration_seconds: number;
  finished_at_ms: number;
  flags_json: string;
}

interface JobRow {
  id: string;
  platform: string;
  profile: string;
  label: string;
  created_at_ms: number;
}

const INT8_OID = 20;
/**
 * BIGINT (milliseconds, COUNT(*)) as a JavaScript number: every value stored here is far
 * below 2^53. Set per pool, so other users of `pg` in the process keep the default.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** The channel a job's assigned agent ids are announced on (NOTIFY, delivered at commit). */
const JOB_CHANNEL = 'guestbench_job_assigned';
/** A NOTIFY payload must stay under 8000 bytes: agent ids are sent newline-separated in chunks below this. */
const NOTIFY_PAYLOAD_BYTES = 7000;

/** Agent ids joined by newlines, in payloads of at most NOTIFY_PAYLOAD_BYTES (an id is at most 128 characters). */
export function notifyPayloads(agentIds: readonly string[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const id of agentIds) {
    const next = current === '' ? id : `${current}\n${id}`;
    if (Buffer.byteLength(next) > NOTIFY_PAYLOAD_BYTES && current !== '') {
      out.push(current);
      current = id;
    } else {
      current = next;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/** Held while migrating, so that collectors starting together migrate once, one at a time. */
const MIGRATION_LOCK = 'guestbench.schema_migrations';

function toSample(row: SampleRow): SampleRecord {
  return {
    id: row.id,
    runId: row.run_id,
    benchmarkId: row.benchmark_id,
    metric: row.metric,
    unit: row.unit,
    direction: row.direction as Direction,
    value: row.value,
    trials: row.trials,
    trialCount: row.trial_count,
    rsd: row.rsd,
    stealFraction: row.steal_fraction,
    parameters: JSON.parse(row.parameters_json) as Record<string, string>,
    primary: row.is_primary,
    clocksource: row.clocksource,
    durationSeconds: row.duration_seconds,
    finishedAtMs: row.finished_at_ms,
    flags: JSON.parse(row.flags_json) as string[],
  };
}

function toJob(row: JobRow): JobRecord {
  return { id: row.id, platform: row.platform, profile: row.profile, label: row.label, createdAtMs: row.created_at_ms };
}

/** "($1, $2, $3), ($4, $5, $6)" for `rows` rows of `width` parameters. */
function pgFinishedRunsWhere(filter: AggregateFilter): { where: string; args: unknown[] } {
  const where = ["r.status <> 'running'"];
  const args: unknown[] = [];
  if (filter.hostname !== undefined) { args.push(filter.hostname); where.push(`r.hostname = $${args.length}`); }
  if (filter.since !== undefined) { args.push(filter.since); where.push(`r.started_at_ms >= $${args.length}`); }
  if (filter.until !== undefined) { args.push(filter.until); where.push(`r.started_at_ms <= $${args.length}`); }
  return { where: where.join(' AND '), args };
}

function placeholders(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  return out.join(', ');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// Ids are compared byte-wise (COLLATE "C"), as SQLite does, whatever the database's locale.
const RUN_SELECT = `SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS sample_count FROM runs r`;
const SAMPLE_COLUMNS = 17;
const LOG_COLUMNS = 6;
/** Rows per INSERT: well under PostgreSQL's 65535 parameters per statement. */
const ROWS_PER_INSERT = 1000;

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores and a guest may send; it becomes
 * U+FFFD here (in lookups too, so an id still finds itself) instead of failing the write.
 */
function withoutNul(args: readonly unknown[]): unknown[] {
  const clean = (v: unknown): unknown => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v);
  return args.map((a) => (Array.isArray(a) ? a.map(clean) : clean(a)));
}

type Queryable = pg.Pool | pg.PoolClient;

function query<T extends pg.QueryResultRow>(on: Queryable, sql: string, args: readonly unknown[] = []): Promise<pg.QueryResult<T>> {
  return on.query<T>(sql, withoutNul(args));
}

async function applyMigrations(client: pg.PoolClient, migrations: readonly Migration[]): Promise<void> {
  await query(client, 'SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
  try {
    await query(client,
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)',
    );
    const applied = new Set((await query<{ version: number }>(client, 'SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...applied);
    if (newest > known) {
      throw new StoreError(`the database's schema is at version ${newest}, newer than this collector knows (${known}): upgrade this collector`);
    }
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await query(client, 'BEGIN');
      try {
        await query(client, m.sql);
        await query(client, 'INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES ($1, $2, $3)', [m.version, m.description, Date.now()]);
        await query(client, 'COMMIT');
      } catch (err: unknown) {
        await query(client, 'ROLLBACK');
        throw new StoreError(`PostgreSQL migration ${m.version} (${m.description}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await query(client, 'SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK]);
  }
}

export class PostgresStore implements Store {
  private constructor(
    private readonly pool: pg.Pool,
    /** The URL without its password. */
    readonly url: string,
    private readonly connectionString: string,
    private readonly options: PostgresStoreOptions,
  ) {}

  /** Connects, and brings the schema up to date (once, whichever collector gets there first). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const redacted = redactPostgresUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types: TYPES, connectionTimeoutMillis: 15_000 });
    // Without a listener, a connection that dies while idle (a server restart) kills the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    try {
      const client = await pool.connect();
      try {
        await applyMigrations(client, POSTGRES_MIGRATIONS);
      } finally {
        client.release();
      }
    } catch (err: unknown) {
      await pool.end().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot open PostgreSQL database ${redacted}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresStore(pool, redacted, url, options);
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await query(client, 'BEGIN');
      const result = await fn(client);
      await query(client, 'COMMIT');
      return result;
    } catch (err: unknown) {
      await query(client, 'ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async upsertAgent(a: AgentRecord): Promise<void> {
    await query(this.pool,
      `INSERT INTO agents (id, hostname, declared_platform, detected_platform, platform, evidence_json, inventory_json, agent_version, enrolled_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, declared_platform = excluded.declared_platform,
         detected_platform = excluded.detected_platform, platform = excluded.platform, evidence_json = excluded.evidence_json,
         inventory_json = excluded.inventory_json, agent_version = excluded.agent_version, enrolled_at_ms = excluded.enrolled_at_ms`,
      [a.id, a.hostname, a.declaredPlatform, a.detectedPlatform, a.platform, JSON.stringify(a.evidence), JSON.stringify(a.inventory), a.agentVersion, a.enrolledAtMs],
    );
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const { rows } = await query<AgentRow>(this.pool, 'SELECT * FROM agents WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toAgent(rows[0]);
  }

  async startRun(run: NewRun): Promise<RunRecord> {
    // One statement: the run takes its agent's platform and inventory as they are now.
    await query(this.pool,
      `INSERT INTO runs (id, agent_id, hostname, platform, declared_platform, detected_platform, label, profile, agent_version,
         status, started_at_ms, last_heartbeat_ms, inventory_json, evidence_json, job_id)
       SELECT $1, a.id, a.hostname, a.platform, a.declared_platform, a.detected_platform, $2, $3, $4,
         'running', $5, $6, a.inventory_json, a.evidence_json, $7
       FROM agents a WHERE a.id = $8
       ON CONFLICT (id) DO NOTHING`,
      [run.id, run.label, run.profile, run.agentVersion, run.startedAtMs, Date.now(), run.jobId, run.agentId],
    );
    const stored = await this.getRun(run.id);
    if (stored !== undefined) return stored;
    if ((await this.getAgent(run.agentId)) === undefined) throw new StoreError(`agent ${run.agentId} has not enrolled`);
    throw new StoreError(`run ${run.id} vanished after insert`);
  }

  async insertSamples(runId: string, samples: readonly SampleRecord[]): Promise<InsertResult> {
    if (samples.length === 0) return { acked: [], inserted: 0 };
    let inserted = 0;
    await this.transaction(async (client) => {
      for (const batch of chunks(samples, ROWS_PER_INSERT)) {
        const args = batch.flatMap((s) => [
          s.id, runId, s.benchmarkId, s.metric, s.unit, s.direction, s.value, s.trials, s.trialCount, s.rsd,
          s.stealFraction, canonicalParameters(s.parameters), s.primary, s.clocksource, s.durationSeconds, s.finishedAtMs,
          JSON.stringify(s.flags),
        ]);
        const result = await query(client,
          `INSERT INTO samples (id, run_id, benchmark_id, metric, unit, direction, value, trials, trial_count, rsd,
             steal_fraction, parameters_json, is_primary, clocksource, duration_seconds, finished_at_ms, flags_json)
           VALUES ${placeholders(batch.length, SAMPLE_COLUMNS)}
           ON CONFLICT (id) DO NOTHING`,
          args,
        );
        inserted += result.rowCount ?? 0;
      }
    });
    return { acked: samples.map((s) => s.id), inserted };
  }

  async insertSampleBatches(batches: readonly SampleBatch[]): Promise<InsertResult[]> {
    // Each id is written by the first batch that has it, as if the batches came one after
    // another: a later copy (in the group or in the table) is acknowledged, not counted.
    // Keyed as stored (NUL as U+FFFD, see withoutNul), which is what RETURNING gives back.
    const owner = new Map<string, number>();
    const rows: { runId: string; s: SampleRecord }[] = [];
    batches.forEach(({ runId, samples }, batch) => {
      for (const s of samples) {
        const key = s.id.replaceAll('\u0000', '\uFFFD');
        if (owner.has(key)) continue;
        owner.set(key, batch);
        rows.push({ runId, s });
      }
    });
    const inserted = batches.map(() => 0);
    if (rows.length > 0) {
      await this.transaction(async (client) => {
        for (const chunk of chunks(rows, ROWS_PER_INSERT)) {
          const args = chunk.flatMap(({ runId, s }) => [
            s.id, runId, s.benchmarkId, s.metric, s.unit, s.direction, s.value, s.trials, s.trialCount, s.rsd,
            s.stealFraction, canonicalParameters(s.parameters), s.primary, s.clocksource, s.durationSeconds, s.finishedAtMs,
            JSON.stringify(s.flags),
          ]);
          const result = await query<{ id: string }>(client,
            `INSERT INTO samples (id, run_id, benchmark_id, metric, unit, direction, value, trials, trial_count, rsd,
               steal_fraction, parameters_json, is_primary, clocksource, duration_seconds, finished_at_ms, flags_json)
             VALUES ${placeholders(chunk.length, SAMPLE_COLUMNS)}
             ON CONFLICT (id) DO NOTHING RETURNING id`,
            args,
          );
          for (const { id } of result.rows) {
            const batch = owner.get(id);
            if (batch !== undefined) inserted[batch] = (inserted[batch] ?? 0) + 1;
          }
        }
      });
    }
    return batches.map(({ samples }, i) => ({ acked: samples.map((s) => s.id), inserted: inserted[i] ?? 0 }));
  }

  async sampleIdsOwnedElsewhere(runId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await query<{ id: string }>(this.pool, 'SELECT id FROM samples WHERE id = ANY($1::text[]) AND run_id <> $2', [ids, runId]);
    const elsewhere = new Set(rows.map((r) => r.id));
    return ids.filter((id) => elsewhere.has(id));
  }

  async endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined> {
    await query(this.pool, "UPDATE runs SET status = $1, error = $2, ended_at_ms = $3, failed_benchmarks_json = $4 WHERE id = $5 AND status IN ('running', 'lost')", [
      end.status, end.error, end.endedAtMs, JSON.stringify(end.failedBenchmarks ?? []), runId,
    ]);
    return this.getRun(runId);
  }

  async recordHeartbeat(runId: string, atMs: number, guestMonotonicMs?: number): Promise<void> {
    await query(this.pool, 'UPDATE runs SET last_heartbeat_ms = $1 WHERE id = $2', [atMs, runId]);
    if (guestMonotonicMs === undefined) return;
    // ::float8 so that the comparison with the stored offsets is not done in bigint.
    await query(this.pool, clockUpdateSql('$1', '$2::float8', '$3::float8'),
      [runId, guestMonotonicMs, atMs]);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const { rows } = await query<RunRow>(this.pool, `${RUN_SELECT} WHERE r.id = $1`, [id]);
    return rows[0] === undefined ? undefined : toRun(rows[0]);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    if (filter.platform !== undefined) where.push(`r.platform = ${arg(filter.platform)}`);
    if (filter.label !== undefined) where.push(`r.label = ${arg(filter.label)}`);
    if (filter.hostname !== undefined) where.push(`r.hostname = ${arg(filter.hostname)}`);
    if (filter.statuses !== undefined && filter.statuses.length > 0) where.push(`r.status = ANY(${arg(filter.statuses)}::text[])`);
    if (filter.since !== undefined) where.push(`r.started_at_ms >= ${arg(filter.since)}`);
    if (filter.until !== undefined) where.push(`r.started_at_ms <= ${arg(filter.until)}`);
    const sql = `${RUN_SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at_ms DESC, r.id COLLATE "C"${
      filter.limit !== undefined ? ` LIMIT ${arg(filter.limit)}` : ''
    }`;
    return (await query<RunRow>(this.pool, sql, args)).rows.map(toRun);
  }

  async getSamples(runIds: readonly string[]): Promise<SampleRecord[]> {
    if (runIds.length === 0) return [];
    // In the order of the runs asked for, then as each run finished them (as SQLite answers).
    const { rows } = await query<SampleRow>(this.pool,
      'SELECT * FROM samples WHERE run_id = ANY($1::text[]) ORDER BY array_position($1::text[], run_id), finished_at_ms, id COLLATE "C"',
      [runIds],
    );
    return rows.map(toSample);
  }

  async aggregateCells(filter: AggregateFilter): Promise<CellAggregate[]> {
    // PostgreSQL aggregates at query time (in parallel when the table is large).
    const { where, args } = pgFinishedRunsWhere(filter);
    const logV = 'CASE WHEN s.value > 0 THEN ln(s.value) ELSE 0 END';
    const { rows } = await query<CellAggregate & { direction: 'higher' | 'lower' }>(this.pool,
      `SELECT r.platform, r.label, s.benchmark_id AS "benchmarkId", s.metric, s.unit, s.direction, s.parameters_json AS parameters,
         split_part(r.agent_version, '.', 1) AS "agentMajor", bool_or(s.is_primary) AS primary,
         COUNT(DISTINCT s.run_id)::int AS runs, COUNT(*)::int AS "valueN", SUM(${logV})::float8 AS "valueLogSum",
         SUM(${logV} * ${logV})::float8 AS "valueLogSumSq", SUM(s.value)::float8 AS "valueSum", MIN(s.value)::float8 AS "valueMin",
         SUM(t.n)::int AS "trialN", SUM(t.ls)::float8 AS "trialLogSum", SUM(t.lss)::float8 AS "trialLogSumSq",
         SUM(t.sm)::float8 AS "trialSum", MIN(t.mn)::float8 AS "trialMin", MAX(s.rsd)::float8 AS "maxRsd", MAX(s.steal_fraction)::float8 AS "maxSteal"
       FROM samples s JOIN runs r ON r.id = s.run_id
       CROSS JOIN LATERAL (
         SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN x > 0 THEN ln(x) END), 0) AS ls, COALESCE(SUM(CASE WHEN x > 0 THEN ln(x) * ln(x) END), 0) AS lss,
           COALESCE(SUM(x), 0) AS sm, COALESCE(MIN(x), 0) AS mn
         FROM unnest(s.trials) AS x
       ) t
       WHERE ${where}
       GROUP BY r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, split_part(r.agent_version, '.', 1)`,
      args,
    );
    return rows;
  }

  async groupRuns(filter: AggregateFilter): Promise<GroupRuns[]> {
    const { where, args } = pgFinishedRunsWhere(filter);
    const { rows } = await query<GroupRunRow>(this.pool, `SELECT ${GROUP_RUN_COLUMNS} FROM runs r WHERE ${where} ORDER BY r.started_at_ms DESC, r.id`, args);
    return groupRunRows(rows);
  }

  async countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>> {
    const { rows } = await query<{ status: RunStatus; n: number }>(this.pool, 'SELECT status, COUNT(*) AS n FROM runs GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async markLostRuns(cutoffMs: number, nowMs: number): Promise<RunRecord[]> {
    // One UPDATE: when several collectors sweep at once, each run is marked (and returned) once.
    const { rows } = await query<{ id: string }>(this.pool,
      `UPDATE runs SET status = 'lost', ended_at_ms = $1, error = 'no heartbeat since ' || last_heartbeat_ms
       WHERE status = 'running' AND last_heartbeat_ms < $2 RETURNING id`,
      [nowMs, cutoffMs],
    );
    if (rows.length === 0) return [];
    const runs = await query<RunRow>(this.pool, `${RUN_SELECT} WHERE r.id = ANY($1::text[]) ORDER BY r.id COLLATE "C"`, [rows.map((r) => r.id)]);
    return runs.rows.map(toRun);
  }

  async createJob(job: JobRecord, agentIds: readonly string[]): Promise<void> {
    await this.transaction(async (client) => {
      await query(client, 'INSERT INTO jobs (id, platform, profile, label, created_at_ms) VALUES ($1, $2, $3, $4, $5)', [
        job.id, job.platform, job.profile, job.label, job.createdAtMs,
      ]);
      for (const batch of chunks(agentIds, ROWS_PER_INSERT)) {
        await query(client, `INSERT INTO job_assignments (job_id, agent_id) VALUES ${placeholders(batch.length, 2)}`, batch.flatMap((a) => [job.id, a]));
      }
      // Delivered to every listening collector when this transaction commits, not before.
      for (const payload of notifyPayloads(agentIds)) await query(client, 'SELECT pg_notify($1, $2)', [JOB_CHANNEL, payload]);
    });
  }

  async takePendingJob(agentId: string, nowMs: number, retakeBeforeMs?: number): Promise<JobRecord | undefined> {
    // One UPDATE … WHERE taken_at_ms IS NULL RETURNING: when collectors race for the same
    // assignment, the row lock lets one of them change it and the others skip it.
    const { rows } = await query<JobRow>(this.pool,
      `WITH taken AS (
         UPDATE job_assignments SET taken_at_ms = $2
         WHERE agent_id = $1 AND (taken_at_ms IS NULL OR taken_at_ms < $3) AND job_id = (
           SELECT a.job_id FROM job_assignments a JOIN jobs j ON j.id = a.job_id
           WHERE a.agent_id = $1 AND (a.taken_at_ms IS NULL OR a.taken_at_ms < $3)
             AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = a.job_id AND r.agent_id = a.agent_id)
           ORDER BY j.created_at_ms, j.id COLLATE "C" LIMIT 1
           FOR UPDATE OF a SKIP LOCKED)
         RETURNING job_id)
       SELECT j.* FROM jobs j JOIN taken t ON t.job_id = j.id`,
      [agentId, nowMs, retakeBeforeMs ?? -1],
    );
    return rows[0] === undefined ? undefined : toJob(rows[0]);
  }

  async releaseJob(jobId: string, agentId: string): Promise<void> {
    await this.transaction(async (client) => {
      const { rowCount } = await query(client,
        `UPDATE job_assignments SET taken_at_ms = NULL WHERE job_id = $1 AND agent_id = $2
         AND NOT EXISTS (SELECT 1 FROM runs WHERE job_id = $1 AND agent_id = $2)`,
        [jobId, agentId],
      );
      if ((rowCount ?? 0) > 0) await query(client, 'SELECT pg_notify($1, $2)', [JOB_CHANNEL, agentId]);
    });
  }

  async agentsWithPendingJobs(agentIds: readonly string[]): Promise<string[]> {
    if (agentIds.length === 0) return [];
    const { rows } = await query<{ agent_id: string }>(this.pool,
      'SELECT DISTINCT agent_id FROM job_assignments WHERE taken_at_ms IS NULL AND agent_id = ANY($1::text[])',
      [agentIds],
    );
    return rows.map((r) => r.agent_id);
  }

  async watchJobAssignments(listener: JobAssignedListener): Promise<() => Promise<void>> {
    // LISTEN needs a connection of its own, outside the pool, kept for as long as we watch.
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let delayMs = 500;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.connectionString, types: TYPES, connectionTimeoutMillis: 15_000 });
      c.on('notification', (msg) => {
        if (msg.channel === JOB_CHANNEL && msg.payload !== undefined && msg.payload !== '') listener(msg.payload.split('\n'));
      });
      const lost = (err: Error): void => {
        if (client !== c) return;
        client = undefined;
        c.end().catch(() => undefined);
        if (stopped) return;
        this.options.onListenError?.(err);
        retry = setTimeout(() => void reconnect(), delayMs);
        delayMs = Math.min(delayMs * 2, 10_000);
      };
      c.on('error', lost);
      c.on('end', () => lost(new Error('LISTEN connection closed')));
      await c.connect();
      await c.query(`LISTEN ${JOB_CHANNEL}`);
      client = c;
      delayMs = 500;
    };
    const reconnect = async (): Promise<void> => {
      if (stopped) return;
      try {
        await connect();
      } catch (err: unknown) {
        this.options.onListenError?.(err as Error);
        retry = setTimeout(() => void reconnect(), delayMs);
        delayMs = Math.min(delayMs * 2, 10_000);
      }
    };
    try {
      await connect();
    } catch (err: unknown) {
      throw new StoreError(`cannot LISTEN for jobs on PostgreSQL database ${this.url}: ${(err as Error).message}`, { cause: err });
    }
    return async () => {
      stopped = true;
      if (retry !== undefined) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    };
  }

  async recordPresence(p: PresenceRecord): Promise<void> {
    await query(this.pool,
      `INSERT INTO agent_presence (agent_id, collector_id, platform, run_id, takes_jobs, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (agent_id) DO UPDATE SET collector_id = excluded.collector_id, platform = excluded.platform, run_id = excluded.run_id,
         takes_jobs = excluded.takes_jobs, last_seen_ms = excluded.last_seen_ms`,
      [p.agentId, p.collectorId, p.platform, p.runId, p.takesJobs, p.lastSeenMs],
    );
  }

  async listPresence(sinceMs: number): Promise<PresenceRecord[]> {
    const { rows } = await query<{ agent_id: string; collector_id: string; platform: string; run_id: string; takes_jobs: boolean; last_seen_ms: number }>(this.pool,
      'SELECT * FROM agent_presence WHERE last_seen_ms >= $1 ORDER BY agent_id COLLATE "C"',
      [sinceMs],
    );
    return rows.map((r) => ({ agentId: r.agent_id, collectorId: r.collector_id, platform: r.platform, runId: r.run_id, takesJobs: r.takes_jobs, lastSeenMs: r.last_seen_ms }));
  }

  async countPresence(sinceMs: number): Promise<PresenceCount[]> {
    const { rows } = await query<{ collector_id: string; platform: string; busy: boolean; takes_jobs: boolean; n: number }>(this.pool,
      `SELECT collector_id, platform, run_id <> '' AS busy, takes_jobs, COUNT(*) AS n FROM agent_presence WHERE last_seen_ms >= $1
       GROUP BY collector_id, platform, run_id <> '', takes_jobs
       ORDER BY collector_id COLLATE "C", platform COLLATE "C", busy, takes_jobs`,
      [sinceMs],
    );
    return rows.map((r) => ({ collectorId: r.collector_id, platform: r.platform, busy: r.busy, takesJobs: r.takes_jobs, agents: r.n }));
  }

  private async jobView(row: JobRow): Promise<JobView> {
    const { rows } = await query<{ agent_id: string; taken_at_ms: number | null; run_id: string | null; status: RunStatus | null; samples: number | null }>(this.pool,
      `SELECT a.agent_id, a.taken_at_ms, r.id AS run_id, r.status,
         (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS samples
       FROM job_assignments a LEFT JOIN runs r ON r.job_id = a.job_id AND r.agent_id = a.agent_id
       WHERE a.job_id = $1 ORDER BY a.agent_id COLLATE "C"`,
      [row.id],
    );
    const list: JobAssignmentRecord[] = rows.map((a) => ({
      agentId: a.agent_id,
      state: a.status ?? (a.taken_at_ms === null ? 'assigned' : 'taken'),
      runId: a.run_id ?? '',
      samples: a.run_id === null ? 0 : (a.samples ?? 0),
    }));
    const ended = (s: JobAssignmentRecord['state']): boolean => s === 'completed' || s === 'partial' || s === 'failed' || s === 'lost' || s === 'cancelled';
    const state = list.length > 0 && list.every((a) => ended(a.state)) ? 'done' : list.some((a) => a.state !== 'assigned') ? 'running' : 'pending';
    return { job: toJob(row), state, assignments: list };
  }

  async getJob(id: string): Promise<JobView | undefined> {
    const { rows } = await query<JobRow>(this.pool, 'SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : this.jobView(rows[0]);
  }

  async listJobs(limit: number): Promise<JobView[]> {
    const { rows } = await query<JobRow>(this.pool, 'SELECT * FROM jobs ORDER BY created_at_ms DESC, id COLLATE "C" LIMIT $1', [limit]);
    return Promise.all(rows.map((r) => this.jobView(r)));
  }

  async insertLogs(lines: readonly LogRecord[]): Promise<number> {
    if (lines.length === 0) return 0;
    await this.transaction(async (client) => {
      for (const batch of chunks(lines, ROWS_PER_INSERT)) {
        await query(client,
          `INSERT INTO run_logs (agent_id, run_id, time_ms, level, message, fields_json) VALUES ${placeholders(batch.length, LOG_COLUMNS)}`,
          batch.flatMap((l) => [l.agentId, l.runId, l.timeMs, l.level, l.message, l.fieldsJson]),
        );
      }
    });
    return lines.length;
  }

  async getLogs(runId: string, limit: number): Promise<LogRecord[]> {
    const { rows } = await query<{ agent_id: string; run_id: string; time_ms: number; level: string; message: string; fields_json: string }>(this.pool,
      'SELECT * FROM run_logs WHERE run_id = $1 ORDER BY seq LIMIT $2',
      [runId, limit],
    );
    return rows.map((r) => ({ agentId: r.agent_id, runId: r.run_id, timeMs: r.time_ms, level: r.level, message: r.message, fieldsJson: r.fields_json }));
  }

  async createToken(t: TokenRecord): Promise<void> {
    await query(
      this.pool,
      'INSERT INTO tokens (id, name, kind, platform, secret_hash, created_at_ms, expires_at_ms, revoked_at_ms, agent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [t.id, t.name, t.kind, t.platform, t.secretHash, t.createdAtMs, t.expiresAtMs ?? null, t.revokedAtMs ?? null, t.agentId],
    );
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const { rows } = await query<TokenRow>(this.pool, 'SELECT * FROM tokens WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toToken(rows[0]);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await query<TokenRow>(this.pool, 'SELECT * FROM tokens ORDER BY created_at_ms, id COLLATE "C"')).rows.map(toToken);
  }

  async revokeTokens(idOrName: string, nowMs: number): Promise<TokenRecord[]> {
    const { rows } = await query<TokenRow>(
      this.pool,
      'UPDATE tokens SET revoked_at_ms = $1 WHERE (id = $2 OR name = $2) AND revoked_at_ms IS NULL RETURNING *',
      [nowMs, idOrName],
    );
    return rows.map(toToken).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async bindToken(tokenId: string, agentId: string, attempt = 1): Promise<TokenBinding> {
    // The conditional UPDATE takes the token's row lock, so of two enrollments with one token
    // the first wins; the unique index tokens_agent_once refuses a second token for one agent
    // id, whichever collector of the fleet gets there second.
    try {
      const { rowCount } = await query(this.pool, "UPDATE tokens SET agent_id = $1 WHERE id = $2 AND agent_id = ''", [agentId, tokenId]);
      if (rowCount === 1) return { outcome: 'bound' };
    } catch (err: unknown) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
    const own = (await query<{ agent_id: string }>(this.pool, 'SELECT agent_id FROM tokens WHERE id = $1', [tokenId])).rows[0]?.agent_id ?? '';
    if (own === agentId) return { outcome: 'bound' };
    if (own !== '') return { outcome: 'token-bound-elsewhere', agentId: own };
    const holder = (await query<{ id: string }>(this.pool, 'SELECT id FROM tokens WHERE agent_id = $1 AND revoked_at_ms IS NULL AND id <> $2', [agentId, tokenId])).rows[0];
    // Unbound, and nobody holds the id any more (revoked meanwhile): try again.
    if (holder === undefined) {
      if (attempt < 3) return this.bindToken(tokenId, agentId, attempt + 1);
      throw new StoreError(`binding token ${tokenId} to agent ${agentId} kept conflicting`);
    }
    return { outcome: 'agent-taken', tokenId: holder.id };
  }

  async rebindToken(idOrName: string, agentId: string): Promise<Rebinding> {
    return this.transaction(async (client): Promise<Rebinding> => {
      const rows = (await query<TokenRow>(client, "SELECT * FROM tokens WHERE (id = $1 OR name = $1) AND revoked_at_ms IS NULL AND kind = 'agent' FOR UPDATE", [idOrName])).rows;
      const chosen = pickOneToken(idOrName, rows);
      if (!chosen.ok) return chosen;
      const holders = agentId === '' ? [] : (await query<TokenRow>(client, "UPDATE tokens SET agent_id = '' WHERE agent_id = $1 AND revoked_at_ms IS NULL AND id <> $2 RETURNING *", [agentId, chosen.row.id])).rows;
      await query(client, 'UPDATE tokens SET agent_id = $1 WHERE id = $2', [agentId, chosen.row.id]);
      return { ok: true, token: toToken({ ...chosen.row, agent_id: agentId }), unbound: holders.map(toToken) };
    });
  }

  async putRunConfiguration(c: RunConfigurationRecord): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO run_configurations (run_id, settings_json, host_kernel, qemu_version, libvirt_version, accelerator, recorded_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (run_id) DO UPDATE SET settings_json = excluded.settings_json, host_kernel = excluded.host_kernel,
         qemu_version = excluded.qemu_version, libvirt_version = excluded.libvirt_version, accelerator = excluded.accelerator,
         recorded_at_ms = excluded.recorded_at_ms`,
      [c.runId, JSON.stringify(c.settings), c.hostKernel, c.qemuVersion, c.libvirtVersion, c.accelerator, c.recordedAtMs],
    );
  }

  async getRunConfigurations(runIds: readonly string[]): Promise<RunConfigurationRecord[]> {
    if (runIds.length === 0) return [];
    const { rows } = await query<RunConfigurationRow>(this.pool, 'SELECT * FROM run_configurations WHERE run_id = ANY($1::text[])', [[...runIds]]);
    const byId = new Map(rows.map((r) => [r.run_id, toRunConfiguration(r)]));
    return runIds.flatMap((id) => byId.get(id) ?? []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
