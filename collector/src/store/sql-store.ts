// The one store: every Store method written once over a Driver, for SQLite (embedded, the
// default) and PostgreSQL (a fleet of collectors on one database). Where the engines spell
// something differently, the Dialect's fragments say it.
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
import { addCells, cellSelect, toCell, type CellRow } from './cells';
import { POSTGRES, type Dialect } from './dialect';
import { insertNew, insertRows, type Driver, type Queryable } from './driver';
import { PostgresDriver, type PostgresStoreOptions } from './postgres-driver';
import { SqliteDriver } from './sqlite-driver';
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
import {
  clockUpdateSql,
  GROUP_RUN_COLUMNS,
  groupRunRows,
  pickOneToken,
  toAgent,
  toRun,
  toRunConfiguration,
  toToken,
  type AgentRow,
  type GroupRunRow,
  type RunConfigurationRow,
  type RunRow,
  type TokenRow,
} from './row-mappers';

interface SampleRow {
  id: string;
  run_id: string;
  benchmark_id: string;
  metric: string;
  unit: string;
  direction: string;
  value: number;
  trials_json: string;
  trial_count: number;
  rsd: number;
  steal_fraction: number;
  parameters_json: string;
  is_primary: number | boolean;
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

interface PresenceRow {
  agent_id: string;
  collector_id: string;
  platform: string;
  run_id: string;
  takes_jobs: number | boolean;
  last_seen_ms: number;
}

function toSample(row: SampleRow): SampleRecord {
  return {
    id: row.id,
    runId: row.run_id,
    benchmarkId: row.benchmark_id,
    metric: row.metric,
    unit: row.unit,
    direction: row.direction as Direction,
    value: row.value,
    trials: JSON.parse(row.trials_json) as number[],
    trialCount: row.trial_count,
    rsd: row.rsd,
    stealFraction: row.steal_fraction,
    parameters: JSON.parse(row.parameters_json) as Record<string, string>,
    primary: Boolean(row.is_primary),
    clocksource: row.clocksource,
    durationSeconds: row.duration_seconds,
    finishedAtMs: row.finished_at_ms,
    flags: JSON.parse(row.flags_json) as string[],
  };
}

function toJob(row: JobRow): JobRecord {
  return { id: row.id, platform: row.platform, profile: row.profile, label: row.label, createdAtMs: row.created_at_ms };
}

/** Byte-wise order of ids, as both engines sort them here. */
function byId(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** n, Σ, min, Σ ln, Σ ln² of the trials (logs of positive trials only; min tells whether all were). */
export function trialStats(trials: readonly number[]): [number, number, number, number, number] {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let logSum = 0;
  let logSumSq = 0;
  for (const t of trials) {
    sum += t;
    if (t < min) min = t;
    if (t > 0) {
      const l = Math.log(t);
      logSum += l;
      logSumSq += l * l;
    }
  }
  return [trials.length, sum, trials.length === 0 ? 0 : min, logSum, logSumSq];
}

/** The channel a job's assigned agent ids are announced on (PostgreSQL NOTIFY, delivered at commit). */
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

const RUN_SELECT = 'SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS sample_count FROM runs r';
const SAMPLE_INSERT = `INSERT INTO samples (id, run_id, benchmark_id, metric, unit, direction, value, trials_json, trial_count, rsd,
  steal_fraction, parameters_json, is_primary, clocksource, duration_seconds, finished_at_ms,
  trial_n, trial_sum, trial_min, trial_log_sum, trial_log_sumsq, flags_json)`;
const ENDED: readonly JobAssignmentRecord['state'][] = ['completed', 'partial', 'failed', 'lost', 'cancelled'];

/**
 * The take of many woken agents at once (PostgreSQL): per agent in $1 the same pick as
 * takePendingJobSql without retakes, locked with SKIP LOCKED; the update checks again that the
 * row is still not taken, so a race with another collector hands the assignment out once.
 */
export const TAKE_PENDING_JOBS_SQL = `UPDATE job_assignments t SET taken_at_ms = $2
  FROM (SELECT w.agent_id, (
      SELECT a.job_id FROM job_assignments a JOIN jobs j ON j.id = a.job_id
      WHERE a.agent_id = w.agent_id AND a.taken_at_ms IS NULL
        AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = a.job_id AND r.agent_id = a.agent_id)
      ORDER BY j.created_at_ms, j.id${POSTGRES.bytewise} LIMIT 1 FOR UPDATE OF a SKIP LOCKED) AS job_id
    FROM unnest($1::text[]) AS w(agent_id)) p
  WHERE t.agent_id = p.agent_id AND t.job_id = p.job_id AND t.taken_at_ms IS NULL
  RETURNING t.agent_id, t.job_id`;

/**
 * The take of WaitForJob: the agent's oldest assignment not taken (or taken before $3 and
 * never started), marked taken at $2, for agent $1. One UPDATE … RETURNING: an assignment is
 * taken once even when collectors race for it (SQLite: one writer; PostgreSQL: the row lock,
 * others skip it). A fleet's agents all take at once, so a take reads by index only
 * (job_assignments_agent, runs_agent_job), never the whole tables. Exported for its plan's test.
 */
export function takePendingJobSql(d: Dialect): string {
  return `UPDATE job_assignments SET taken_at_ms = $2
       WHERE agent_id = $1 AND (taken_at_ms IS NULL OR taken_at_ms < $3) AND job_id = (
         SELECT a.job_id FROM job_assignments a JOIN jobs j ON j.id = a.job_id
         WHERE a.agent_id = $1 AND (a.taken_at_ms IS NULL OR a.taken_at_ms < $3)
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = a.job_id AND r.agent_id = a.agent_id)
         ORDER BY j.created_at_ms, j.id${d.bytewise} LIMIT 1${d.engine === 'postgres' ? ' FOR UPDATE OF a SKIP LOCKED' : ''})
       RETURNING job_id`;
}

export class SqlStore implements Store {
  private readonly d: Dialect;
  /** Where the engine cannot notify other processes (SQLite), job watchers are told by this process. */
  private readonly jobWatchers = new Set<JobAssignedListener>();

  constructor(private readonly db: Driver) {
    this.d = db.dialect;
  }

  /** Finished runs `r`, narrowed as asked: the WHERE text and its arguments. */
  private finishedRuns(filter: AggregateFilter): { where: string; args: unknown[] } {
    const where = ["r.status <> 'running'"];
    const args: unknown[] = [];
    if (filter.hostname !== undefined) {
      args.push(filter.hostname);
      where.push(`r.hostname = $${args.length}`);
    }
    if (filter.since !== undefined) {
      args.push(filter.since);
      where.push(`r.started_at_ms >= $${args.length}`);
    }
    if (filter.until !== undefined) {
      args.push(filter.until);
      where.push(`r.started_at_ms <= $${args.length}`);
    }
    return { where: where.join(' AND '), args };
  }

  async upsertAgent(a: AgentRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO agents (id, hostname, declared_platform, detected_platform, platform, evidence_json, inventory_json, agent_version, enrolled_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, declared_platform = excluded.declared_platform,
         detected_platform = excluded.detected_platform, platform = excluded.platform, evidence_json = excluded.evidence_json,
         inventory_json = excluded.inventory_json, agent_version = excluded.agent_version, enrolled_at_ms = excluded.enrolled_at_ms`,
      [
        a.id,
        a.hostname,
        a.declaredPlatform,
        a.detectedPlatform,
        a.platform,
        JSON.stringify(a.evidence),
        JSON.stringify(a.inventory),
        a.agentVersion,
        a.enrolledAtMs,
      ],
    );
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const { rows } = await this.db.query<AgentRow>('SELECT * FROM agents WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toAgent(rows[0]);
  }

  async startRun(run: NewRun): Promise<RunRecord> {
    // One statement: the run takes its agent's platform and inventory as they are now.
    await this.db.query(
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
    const [result] = await this.insertSampleBatches([{ runId, samples }]);
    return result ?? { acked: [], inserted: 0 };
  }

  async insertSampleBatches(batches: readonly SampleBatch[]): Promise<InsertResult[]> {
    // Each id once, in one order (PostgreSQL: two calls inserting the same ids lock them in
    // the same order, no deadlock); the first batch naming an id is the one that may insert it.
    const firstBatch = new Map<string, number>();
    const rows: unknown[][] = [];
    batches.forEach((b, i) => {
      for (const s of b.samples) {
        if (firstBatch.has(s.id)) continue;
        firstBatch.set(s.id, i);
        rows.push([
          s.id,
          b.runId,
          s.benchmarkId,
          s.metric,
          s.unit,
          s.direction,
          s.value,
          JSON.stringify(s.trials),
          s.trialCount,
          s.rsd,
          s.stealFraction,
          canonicalParameters(s.parameters),
          s.primary,
          s.clocksource,
          s.durationSeconds,
          s.finishedAtMs,
          ...trialStats(s.trials),
          JSON.stringify(s.flags),
        ]);
      }
    });
    const inserted = new Array<number>(batches.length).fill(0);
    if (rows.length > 0) {
      rows.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
      const runIds = [...new Set(batches.filter((b) => b.samples.length > 0).map((b) => b.runId))].sort(byId);
      try {
        await this.db.transaction(async (tx) => {
          // Where the store keeps cell_stats (SQLite, one writer at a time), a sample of a run
          // that has finished counts there as it arrives.
          const finished = new Set<string>();
          if (this.d.cellStats) {
            const { rows: runs } =
              runIds.length === 1
                ? await tx.query<{ id: string; status: RunStatus }>('SELECT id, status FROM runs WHERE id = $1', runIds)
                : await tx.query<{ id: string; status: RunStatus }>(`SELECT id, status FROM runs WHERE ${this.d.inList('id', '$1')}`, [runIds]);
            for (const r of runs) if (r.status !== 'running') finished.add(r.id);
          }
          if (batches.length === 1 && !this.d.cellStats) {
            // One call, no cells to keep: the count is the answer (PostgreSQL needs no RETURNING).
            inserted[0] = (await insertRows(tx, this.d, SAMPLE_INSERT, rows, 'ON CONFLICT (id) DO NOTHING')).count;
            return;
          }
          const added = await insertNew(tx, this.d, SAMPLE_INSERT, 'id', rows);
          const late: string[] = [];
          for (const [id, runId] of rows) {
            if (!added.has(id)) continue;
            const i = firstBatch.get(id as string) ?? 0;
            inserted[i] = (inserted[i] ?? 0) + 1;
            if (finished.has(runId as string)) late.push(id as string);
          }
          if (late.length > 0) await tx.query(addCells(this.d, this.d.inList('s.id', '$1')), [late]);
        });
      } catch (err: unknown) {
        if (!this.db.isForeignKeyViolation(err)) throw err;
        const { rows: known } = await this.db.query<{ id: string }>(`SELECT id FROM runs WHERE ${this.d.inList('id', '$1')}`, [runIds]);
        const missing = runIds.filter((id) => !known.some((r) => r.id === id));
        throw new StoreError(`samples for run ${missing.join(', ')}, which was never started`, { cause: err });
      }
    }
    return batches.map((b, i) => ({ acked: b.samples.map((s) => s.id), inserted: inserted[i] ?? 0 }));
  }

  async sampleIdsOwnedElsewhere(runId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM samples WHERE ${this.d.inList('id', '$1')} AND run_id <> $2`, [ids, runId]);
    const elsewhere = new Set(rows.map((r) => r.id));
    return ids.filter((id) => elsewhere.has(id));
  }

  async endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined> {
    // A run marked lost (its heartbeats stopped) that its agent still ends was only cut
    // off; its own end is the truth, and the gap stays in the log.
    const set = 'UPDATE runs SET status = $1, error = $2, ended_at_ms = $3, failed_benchmarks_json = $4 WHERE id = $5';
    const args = [end.status, end.error, end.endedAtMs, JSON.stringify(end.failedBenchmarks ?? []), runId];
    if (!this.d.cellStats) {
      await this.db.query(`${set} AND status IN ('running', 'lost')`, args);
    } else {
      await this.db.transaction(async (tx) => {
        // Its samples count in cell_stats from when it leaves 'running' (a lost run's already do).
        const { count } = await tx.query(`${set} AND status = 'running'`, args);
        if (count === 0) await tx.query(`${set} AND status = 'lost'`, args);
        else if (end.status !== 'running') await tx.query(addCells(this.d, 's.run_id = $1'), [runId]);
      });
    }
    return this.getRun(runId);
  }

  async recordHeartbeat(runId: string, atMs: number, guestMonotonicMs?: number): Promise<void> {
    await this.db.query('UPDATE runs SET last_heartbeat_ms = $1 WHERE id = $2', [atMs, runId]);
    if (guestMonotonicMs === undefined) return;
    // Cast, so that PostgreSQL does not compare with the stored offsets in bigint.
    await this.db.query(clockUpdateSql('$1', 'CAST($2 AS DOUBLE PRECISION)', 'CAST($3 AS DOUBLE PRECISION)'), [runId, guestMonotonicMs, atMs]);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const { rows } = await this.db.query<RunRow>(`${RUN_SELECT} WHERE r.id = $1`, [id]);
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
    if (filter.statuses !== undefined && filter.statuses.length > 0) where.push(this.d.inList('r.status', arg(filter.statuses)));
    if (filter.since !== undefined) where.push(`r.started_at_ms >= ${arg(filter.since)}`);
    if (filter.until !== undefined) where.push(`r.started_at_ms <= ${arg(filter.until)}`);
    const sql = `${RUN_SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at_ms DESC, r.id${this.d.bytewise}${
      filter.limit !== undefined ? ` LIMIT ${arg(filter.limit)}` : ''
    }`;
    return (await this.db.query<RunRow>(sql, args)).rows.map(toRun);
  }

  async getSamples(runIds: readonly string[]): Promise<SampleRecord[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.db.query<SampleRow>(`SELECT * FROM samples WHERE ${this.d.inList('run_id', '$1')}`, [runIds]);
    // In the order of the runs asked for, then as each run finished them.
    const position = new Map<string, number>();
    runIds.forEach((id, i) => position.has(id) || position.set(id, i));
    rows.sort((a, b) => (position.get(a.run_id) ?? 0) - (position.get(b.run_id) ?? 0) || a.finished_at_ms - b.finished_at_ms || byId(a.id, b.id));
    return rows.map(toSample);
  }

  async aggregateCells(filter: AggregateFilter): Promise<CellAggregate[]> {
    if (this.d.cellStats && filter.hostname === undefined && filter.since === undefined && filter.until === undefined) {
      // Kept up to date as runs finish: a few hundred rows whatever the store's size.
      return (await this.db.query<CellRow>('SELECT * FROM cell_stats')).rows.map(toCell);
    }
    // The aggregation over the matching runs, now.
    const { where, args } = this.finishedRuns(filter);
    return (await this.db.query<CellRow>(cellSelect(this.d, where), args)).rows.map(toCell);
  }

  async groupRuns(filter: AggregateFilter): Promise<GroupRuns[]> {
    const { where, args } = this.finishedRuns(filter);
    const { rows } = await this.db.query<GroupRunRow>(
      `SELECT ${GROUP_RUN_COLUMNS} FROM runs r WHERE ${where} ORDER BY r.started_at_ms DESC, r.id${this.d.bytewise}`,
      args,
    );
    return groupRunRows(rows);
  }

  async countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>> {
    const { rows } = await this.db.query<{ status: RunStatus; n: number }>('SELECT status, COUNT(*) AS n FROM runs GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async markLostRuns(cutoffMs: number, nowMs: number): Promise<RunRecord[]> {
    const mark = async (q: Queryable): Promise<string[]> => {
      // One UPDATE: when several collectors sweep at once, each run is marked (and returned) once.
      const { rows } = await q.query<{ id: string }>(
        `UPDATE runs SET status = 'lost', ended_at_ms = $1, error = 'no heartbeat since ' || last_heartbeat_ms
         WHERE status = 'running' AND last_heartbeat_ms < $2 RETURNING id`,
        [nowMs, cutoffMs],
      );
      const ids = rows.map((r) => r.id);
      if (ids.length > 0 && this.d.cellStats) await q.query(addCells(this.d, this.d.inList('s.run_id', '$1')), [ids]);
      return ids;
    };
    const ids = this.d.cellStats ? await this.db.transaction(mark) : await mark(this.db);
    if (ids.length === 0) return [];
    return (await this.db.query<RunRow>(`${RUN_SELECT} WHERE ${this.d.inList('r.id', '$1')} ORDER BY r.id${this.d.bytewise}`, [ids])).rows.map(toRun);
  }

  /** Tells the job watchers: PostgreSQL through `tx` (delivered to every collector at commit); SQLite in this process, after it. */
  private async announce(tx: Queryable, agentIds: readonly string[]): Promise<() => void> {
    if (this.db.listen !== undefined) {
      for (const payload of notifyPayloads(agentIds)) await tx.query('SELECT pg_notify($1, $2)', [JOB_CHANNEL, payload]);
      return () => undefined;
    }
    return () => [...this.jobWatchers].forEach((w) => w(agentIds));
  }

  async createJob(job: JobRecord, agentIds: readonly string[]): Promise<void> {
    const announced = await this.db.transaction(async (tx): Promise<() => void> => {
      await tx.query('INSERT INTO jobs (id, platform, profile, label, created_at_ms) VALUES ($1, $2, $3, $4, $5)', [
        job.id,
        job.platform,
        job.profile,
        job.label,
        job.createdAtMs,
      ]);
      if (agentIds.length > 0)
        await insertRows(
          tx,
          this.d,
          'INSERT INTO job_assignments (job_id, agent_id)',
          agentIds.map((a) => [job.id, a]),
        );
      return this.announce(tx, agentIds);
    });
    announced();
  }

  async takePendingJob(agentId: string, nowMs: number, retakeBeforeMs?: number): Promise<JobRecord | undefined> {
    const { rows } = await this.db.query<{ job_id: string }>(takePendingJobSql(this.d), [agentId, nowMs, retakeBeforeMs ?? -1]);
    if (rows[0] === undefined) return undefined;
    const job = (await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [rows[0].job_id])).rows[0];
    return job === undefined ? undefined : toJob(job);
  }

  async takePendingJobs(agentIds: readonly string[], nowMs: number): Promise<Map<string, JobRecord>> {
    const ids = [...new Set(agentIds)];
    const out = new Map<string, JobRecord>();
    if (ids.length === 0) return out;
    if (this.d.engine !== 'postgres') {
      // SQLite is in this process, one writer: a statement per agent costs no round trip.
      for (const id of ids) {
        const job = await this.takePendingJob(id, nowMs);
        if (job !== undefined) out.set(id, job);
      }
      return out;
    }
    const { rows } = await this.db.query<{ agent_id: string; job_id: string }>(TAKE_PENDING_JOBS_SQL, [ids, nowMs]);
    if (rows.length === 0) return out;
    const jobs = await this.db.query<JobRow>(`SELECT * FROM jobs WHERE ${this.d.inList('id', '$1')}`, [[...new Set(rows.map((r) => r.job_id))]]);
    const byId = new Map(jobs.rows.map((j) => [j.id, toJob(j)]));
    for (const r of rows) {
      const job = byId.get(r.job_id);
      if (job !== undefined) out.set(r.agent_id, job);
    }
    return out;
  }

  async releaseJob(jobId: string, agentId: string, takenAtMs?: number): Promise<void> {
    const announced = await this.db.transaction(async (tx): Promise<() => void> => {
      // Only while no run of that job exists: a started run means the agent did get it. And
      // only our own take: a take queued in the pool can write a time already 2 s old, so
      // the agent's next WaitForJob may have retaken the assignment before we give it back.
      const { count } = await tx.query(
        `UPDATE job_assignments SET taken_at_ms = NULL WHERE job_id = $1 AND agent_id = $2
         AND NOT EXISTS (SELECT 1 FROM runs WHERE job_id = $1 AND agent_id = $2)${takenAtMs === undefined ? '' : ' AND taken_at_ms = $3'}`,
        takenAtMs === undefined ? [jobId, agentId] : [jobId, agentId, takenAtMs],
      );
      return count > 0 ? this.announce(tx, [agentId]) : () => undefined;
    });
    announced();
  }

  async agentsWithPendingJobs(agentIds: readonly string[]): Promise<string[]> {
    if (agentIds.length === 0) return [];
    const { rows } = await this.db.query<{ agent_id: string }>(
      `SELECT DISTINCT agent_id FROM job_assignments WHERE taken_at_ms IS NULL AND ${this.d.inList('agent_id', '$1')}`,
      [agentIds],
    );
    return rows.map((r) => r.agent_id);
  }

  async watchJobAssignments(listener: JobAssignedListener): Promise<() => Promise<void>> {
    if (this.db.listen !== undefined) return this.db.listen(JOB_CHANNEL, (payload) => listener(payload.split('\n')));
    this.jobWatchers.add(listener);
    return async () => {
      this.jobWatchers.delete(listener);
    };
  }

  async recordPresence(p: PresenceRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_presence (agent_id, collector_id, platform, run_id, takes_jobs, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (agent_id) DO UPDATE SET collector_id = excluded.collector_id, platform = excluded.platform, run_id = excluded.run_id,
         takes_jobs = excluded.takes_jobs, last_seen_ms = excluded.last_seen_ms`,
      [p.agentId, p.collectorId, p.platform, p.runId, p.takesJobs, p.lastSeenMs],
    );
  }

  async listPresence(sinceMs: number): Promise<PresenceRecord[]> {
    const { rows } = await this.db.query<PresenceRow>(`SELECT * FROM agent_presence WHERE last_seen_ms >= $1 ORDER BY agent_id${this.d.bytewise}`, [sinceMs]);
    return rows.map((r) => ({
      agentId: r.agent_id,
      collectorId: r.collector_id,
      platform: r.platform,
      runId: r.run_id,
      takesJobs: Boolean(r.takes_jobs),
      lastSeenMs: r.last_seen_ms,
    }));
  }

  async countPresence(sinceMs: number): Promise<PresenceCount[]> {
    const b = this.d.bytewise;
    const { rows } = await this.db.query<{ collector_id: string; platform: string; busy: number | boolean; takes_jobs: number | boolean; n: number }>(
      `SELECT collector_id, platform, run_id <> '' AS busy, takes_jobs, COUNT(*) AS n FROM agent_presence WHERE last_seen_ms >= $1
       GROUP BY collector_id, platform, run_id <> '', takes_jobs ORDER BY collector_id${b}, platform${b}, busy, takes_jobs`,
      [sinceMs],
    );
    return rows.map((r) => ({ collectorId: r.collector_id, platform: r.platform, busy: Boolean(r.busy), takesJobs: Boolean(r.takes_jobs), agents: r.n }));
  }

  private async jobView(row: JobRow): Promise<JobView> {
    const { rows } = await this.db.query<{
      agent_id: string;
      taken_at_ms: number | null;
      run_id: string | null;
      status: RunStatus | null;
      samples: number | null;
    }>(
      `SELECT a.agent_id, a.taken_at_ms, r.id AS run_id, r.status, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS samples
       FROM job_assignments a LEFT JOIN runs r ON r.job_id = a.job_id AND r.agent_id = a.agent_id
       WHERE a.job_id = $1 ORDER BY a.agent_id${this.d.bytewise}`,
      [row.id],
    );
    const list: JobAssignmentRecord[] = rows.map((a) => ({
      agentId: a.agent_id,
      state: a.status ?? (a.taken_at_ms === null ? 'assigned' : 'taken'),
      runId: a.run_id ?? '',
      samples: a.run_id === null ? 0 : (a.samples ?? 0),
    }));
    const state = list.length > 0 && list.every((a) => ENDED.includes(a.state)) ? 'done' : list.some((a) => a.state !== 'assigned') ? 'running' : 'pending';
    return { job: toJob(row), state, assignments: list };
  }

  async getJob(id: string): Promise<JobView | undefined> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : this.jobView(rows[0]);
  }

  async listJobs(limit: number): Promise<JobView[]> {
    const { rows } = await this.db.query<JobRow>(`SELECT * FROM jobs ORDER BY created_at_ms DESC, id${this.d.bytewise} LIMIT $1`, [limit]);
    return Promise.all(rows.map((r) => this.jobView(r)));
  }

  async insertLogs(lines: readonly LogRecord[]): Promise<number> {
    if (lines.length === 0) return 0;
    await this.db.transaction((tx) =>
      insertRows(
        tx,
        this.d,
        'INSERT INTO run_logs (agent_id, run_id, time_ms, level, message, fields_json)',
        lines.map((l) => [l.agentId, l.runId, l.timeMs, l.level, l.message, l.fieldsJson]),
      ),
    );
    return lines.length;
  }

  async getLogs(runId: string, limit: number): Promise<LogRecord[]> {
    const { rows } = await this.db.query<{ agent_id: string; run_id: string; time_ms: number; level: string; message: string; fields_json: string }>(
      'SELECT * FROM run_logs WHERE run_id = $1 ORDER BY seq LIMIT $2',
      [runId, limit],
    );
    return rows.map((r) => ({ agentId: r.agent_id, runId: r.run_id, timeMs: r.time_ms, level: r.level, message: r.message, fieldsJson: r.fields_json }));
  }

  async createToken(t: TokenRecord): Promise<void> {
    await this.db.query(
      'INSERT INTO tokens (id, name, kind, platform, secret_hash, created_at_ms, expires_at_ms, revoked_at_ms, agent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [t.id, t.name, t.kind, t.platform, t.secretHash, t.createdAtMs, t.expiresAtMs ?? null, t.revokedAtMs ?? null, t.agentId],
    );
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const { rows } = await this.db.query<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toToken(rows[0]);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.db.query<TokenRow>(`SELECT * FROM tokens ORDER BY created_at_ms, id${this.d.bytewise}`)).rows.map(toToken);
  }

  async revokeTokens(idOrName: string, nowMs: number): Promise<TokenRecord[]> {
    const { rows } = await this.db.query<TokenRow>('UPDATE tokens SET revoked_at_ms = $1 WHERE (id = $2 OR name = $2) AND revoked_at_ms IS NULL RETURNING *', [
      nowMs,
      idOrName,
    ]);
    return rows.map(toToken).sort((a, b) => a.createdAtMs - b.createdAtMs || byId(a.id, b.id));
  }

  async bindToken(tokenId: string, agentId: string, attempt = 1): Promise<TokenBinding> {
    // The conditional UPDATE lets the first of two enrollments with one token win; the unique
    // index tokens_agent_once refuses a second token for one agent id, whichever collector
    // sharing the database gets there second.
    try {
      const { count } = await this.db.query("UPDATE tokens SET agent_id = $1 WHERE id = $2 AND agent_id = ''", [agentId, tokenId]);
      if (count === 1) return { outcome: 'bound' };
    } catch (err: unknown) {
      if (!this.db.isUniqueViolation(err)) throw err;
    }
    const own = (await this.db.query<{ agent_id: string }>('SELECT agent_id FROM tokens WHERE id = $1', [tokenId])).rows[0]?.agent_id ?? '';
    if (own === agentId) return { outcome: 'bound' };
    if (own !== '') return { outcome: 'token-bound-elsewhere', agentId: own };
    const holder = (await this.db.query<{ id: string }>('SELECT id FROM tokens WHERE agent_id = $1 AND revoked_at_ms IS NULL AND id <> $2', [agentId, tokenId]))
      .rows[0];
    // Unbound, and nobody holds the id any more (revoked meanwhile): try again.
    if (holder === undefined) {
      if (attempt < 3) return this.bindToken(tokenId, agentId, attempt + 1);
      throw new StoreError(`binding token ${tokenId} to agent ${agentId} kept conflicting`);
    }
    return { outcome: 'agent-taken', tokenId: holder.id };
  }

  async rebindToken(idOrName: string, agentId: string): Promise<Rebinding> {
    return this.db.transaction(async (tx): Promise<Rebinding> => {
      const { rows } = await tx.query<TokenRow>(
        `SELECT * FROM tokens WHERE (id = $1 OR name = $1) AND revoked_at_ms IS NULL AND kind = 'agent'${this.d.forUpdate}`,
        [idOrName],
      );
      const chosen = pickOneToken(idOrName, rows);
      if (!chosen.ok) return chosen;
      const holders =
        agentId === ''
          ? []
          : (
              await tx.query<TokenRow>("UPDATE tokens SET agent_id = '' WHERE agent_id = $1 AND revoked_at_ms IS NULL AND id <> $2 RETURNING *", [
                agentId,
                chosen.row.id,
              ])
            ).rows;
      await tx.query('UPDATE tokens SET agent_id = $1 WHERE id = $2', [agentId, chosen.row.id]);
      return { ok: true, token: toToken({ ...chosen.row, agent_id: agentId }), unbound: holders.map(toToken) };
    });
  }

  async putRunConfiguration(c: RunConfigurationRecord): Promise<void> {
    await this.db.query(
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
    const { rows } = await this.db.query<RunConfigurationRow>(`SELECT * FROM run_configurations WHERE ${this.d.inList('run_id', '$1')}`, [runIds]);
    const byRun = new Map(rows.map((r) => [r.run_id, toRunConfiguration(r)]));
    return runIds.flatMap((id) => byRun.get(id) ?? []);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** The embedded store: one SQLite file (created when missing, ':memory:' for none), migrated as it opens. */
export class SqliteStore extends SqlStore {
  constructor(readonly file: string) {
    super(new SqliteDriver(file));
  }
}

/** The fleet store: a PostgreSQL database that several collectors may share. */
export class PostgresStore extends SqlStore {
  private constructor(
    driver: PostgresDriver,
    /** The URL without its password. */ readonly url: string,
  ) {
    super(driver);
  }

  /** Connects, and brings the schema up to date (once, whichever collector gets there first). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const driver = await PostgresDriver.open(url, options);
    return new PostgresStore(driver, driver.url);
  }
}
