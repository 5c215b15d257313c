// The embedded store: one SQLite file in WAL mode (better-sqlite3, synchronous, behind the
// async Store interface so that PostgreSQL fits the same shape).
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
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
import { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations';
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
  is_primary: number;
  clocksource: string;
  duration_seconds: number;
  finished_at_ms: number;
  flags_json: string;
}

function applyMigrations(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (?, ?, ?)').run(m.version, m.description, Date.now());
    })();
  }
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
    primary: row.is_primary === 1,
    clocksource: row.clocksource,
    durationSeconds: row.duration_seconds,
    finishedAtMs: row.finished_at_ms,
    flags: JSON.parse(row.flags_json) as string[],
  };
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

interface CellRow {
  platform: string; label: string; benchmark_id: string; metric: string; unit: string; direction: string; parameters_json: string;
  agent_major: string; is_primary: number; runs: number; value_n: number; value_log_sum: number; value_log_sumsq: number;
  value_sum: number; value_min: number; trial_n: number; trial_log_sum: number; trial_log_sumsq: number; trial_sum: number;
  trial_min: number; max_rsd: number; max_steal: number;
}

function toCell(r: CellRow): CellAggregate {
  return {
    platform: r.platform, label: r.label, benchmarkId: r.benchmark_id, metric: r.metric, unit: r.unit, direction: r.direction as Direction,
    primary: r.is_primary === 1, parameters: r.parameters_json, agentMajor: r.agent_major, runs: r.runs,
    valueN: r.value_n, valueLogSum: r.value_log_sum, valueLogSumSq: r.value_log_sumsq, valueSum: r.value_sum, valueMin: r.value_min,
    trialN: r.trial_n, trialLogSum: r.trial_log_sum, trialLogSumSq: r.trial_log_sumsq, trialSum: r.trial_sum, trialMin: r.trial_min,
    maxRsd: r.max_rsd, maxSteal: r.max_steal,
  };
}

const LOG_VALUE = 'CASE WHEN s.value > 0 THEN ln(s.value) ELSE 0 END';
const CELL_AGGREGATE_COLUMNS = `r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json,
  CASE WHEN instr(r.agent_version, '.') > 0 THEN substr(r.agent_version, 1, instr(r.agent_version, '.') - 1) ELSE r.agent_version END AS agent_major,
  MAX(s.is_primary) AS is_primary, COUNT(DISTINCT s.run_id) AS runs, COUNT(*) AS value_n, SUM(${LOG_VALUE}) AS value_log_sum,
  SUM(${LOG_VALUE} * ${LOG_VALUE}) AS value_log_sumsq, SUM(s.value) AS value_sum, MIN(s.value) AS value_min,
  SUM(s.trial_n) AS trial_n, SUM(s.trial_log_sum) AS trial_log_sum, SUM(s.trial_log_sumsq) AS trial_log_sumsq,
  SUM(s.trial_sum) AS trial_sum, MIN(s.trial_min) AS trial_min, MAX(s.rsd) AS max_rsd, MAX(s.steal_fraction) AS max_steal`;

function finishedRunsWhere(filter: AggregateFilter): { where: string; args: (string | number)[] } {
  const where = ["r.status <> 'running'"];
  const args: (string | number)[] = [];
  if (filter.hostname !== undefined) { where.push('r.hostname = ?'); args.push(filter.hostname); }
  if (filter.since !== undefined) { where.push('r.started_at_ms >= ?'); args.push(filter.since); }
  if (filter.until !== undefined) { where.push('r.started_at_ms <= ?'); args.push(filter.until); }
  return { where: where.join(' AND '), args };
}

const CLOCK_UPDATE_SQLITE = clockUpdateSql('@id', '@g', '@h');
const RUN_SELECT = `SELECT r.*, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS sample_count FROM runs r`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** SQLite cannot notify other processes: job watchers are told by this process only. */
  private readonly jobWatchers = new Set<JobAssignedListener>();

  /** Prepared once per SQL text: preparing is most of a small query's cost. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Opens (creating when missing) the file and brings its schema up to date. */
  constructor(readonly file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      applyMigrations(this.db, SQLITE_MIGRATIONS);
    } catch (err: unknown) {
      throw new StoreError(`cannot open SQLite database ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async upsertAgent(a: AgentRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO agents (id, hostname, declared_platform, detected_platform, platform, evidence_json, inventory_json, agent_version, enrolled_at_ms)
         VALUES (@id, @hostname, @declaredPlatform, @detectedPlatform, @platform, @evidence, @inventory, @agentVersion, @enrolledAtMs)
         ON CONFLICT(id) DO UPDATE SET hostname = excluded.hostname, declared_platform = excluded.declared_platform,
           detected_platform = excluded.detected_platform, platform = excluded.platform, evidence_json = excluded.evidence_json,
           inventory_json = excluded.inventory_json, agent_version = excluded.agent_version, enrolled_at_ms = excluded.enrolled_at_ms`,
      )
      .run({ ...a, evidence: JSON.stringify(a.evidence), inventory: JSON.stringify(a.inventory) });
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = this.stmt('SELECT * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
    return row === undefined ? undefined : toAgent(row);
  }

  async startRun(run: NewRun): Promise<RunRecord> {
    const insert = this.db.transaction(() => {
      const agent = this.stmt('SELECT * FROM agents WHERE id = ?').get(run.agentId) as AgentRow | undefined;
      if (agent === undefined) throw new StoreError(`agent ${run.agentId} has not enrolled`);
      this.db
        .prepare(
          `INSERT INTO runs (id, agent_id, hostname, platform, declared_platform, detected_platform, label, profile, agent_version,
             status, started_at_ms, last_heartbeat_ms, inventory_json, evidence_json, job_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO NOTHING`,
        )
        .run(
          run.id, run.agentId, agent.hostname, agent.platform, agent.declared_platform, agent.detected_platform,
          run.label, run.profile, run.agentVersion, run.startedAtMs, Date.now(), agent.inventory_json, agent.evidence_json, run.jobId,
        );
    });
    insert();
    const stored = await this.getRun(run.id);
    if (stored === undefined) throw new StoreError(`run ${run.id} vanished after insert`);
    return stored;
  }

  async insertSamples(runId: string, samples: readonly SampleRecord[]): Promise<InsertResult> {
    const stmt = this.stmt(
      `INSERT INTO samples (id, run_id, benchmark_id, metric, unit, direction, value, trials_json, trial_count, rsd,
         steal_fraction, parameters_json, is_primary, clocksource, duration_seconds, finished_at_ms,
         trial_n, trial_sum, trial_min, trial_log_sum, trial_log_sumsq, flags_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO NOTHING`,
    );
    let inserted = 0;
    const insertAll = this.db.transaction(() => {
      for (const s of samples) {
        inserted += stmt.run(
          s.id, runId, s.benchmarkId, s.metric, s.unit, s.direction, s.value, JSON.stringify(s.trials), s.trialCount, s.rsd,
          s.stealFraction, canonicalParameters(s.parameters), s.primary ? 1 : 0, s.clocksource, s.durationSeconds, s.finishedAtMs,
          ...trialStats(s.trials), JSON.stringify(s.flags),
        ).changes;
      }
    });
    insertAll();
    return { acked: samples.map((s) => s.id), inserted };
  }

  async insertSampleBatches(batches: readonly SampleBatch[]): Promise<InsertResult[]> {
    const stmt = this.stmt(
      `INSERT INTO samples (id, run_id, benchmark_id, metric, unit, direction, value, trials_json, trial_count, rsd,
         steal_fraction, parameters_json, is_primary, clocksource, duration_seconds, finished_at_ms,
         trial_n, trial_sum, trial_min, trial_log_sum, trial_log_sumsq, flags_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO NOTHING`,
    );
    // Batch after batch in one transaction: each counts what it added, as separate calls would.
    const insertAll = this.db.transaction((): InsertResult[] =>
      batches.map(({ runId, samples }) => {
        let inserted = 0;
        for (const s of samples) {
          inserted += stmt.run(
            s.id, runId, s.benchmarkId, s.metric, s.unit, s.direction, s.value, JSON.stringify(s.trials), s.trialCount, s.rsd,
            s.stealFraction, canonicalParameters(s.parameters), s.primary ? 1 : 0, s.clocksource, s.durationSeconds, s.finishedAtMs,
            ...trialStats(s.trials), JSON.stringify(s.flags),
          ).changes;
        }
        return { acked: samples.map((s) => s.id), inserted };
      }),
    );
    return insertAll();
  }

  async sampleIdsOwnedElsewhere(runId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const elsewhere = new Set(
      this.stmt('SELECT id FROM samples WHERE run_id <> ? AND id IN (SELECT value FROM json_each(?))').pluck().all(runId, JSON.stringify(ids)) as string[],
    );
    return ids.filter((id) => elsewhere.has(id));
  }

  async endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined> {
    this.db
      // A run marked lost (its heartbeats stopped) that its agent still ends was only cut
      // off; its own end is the truth, and the gap stays in the log.
      .prepare("UPDATE runs SET status = ?, error = ?, ended_at_ms = ?, failed_benchmarks_json = ? WHERE id = ? AND status IN ('running', 'lost')")
      .run(end.status, end.error, end.endedAtMs, JSON.stringify(end.failedBenchmarks ?? []), runId);
    return this.getRun(runId);
  }

  async recordHeartbeat(runId: string, atMs: number, guestMonotonicMs?: number): Promise<void> {
    this.db.transaction(() => {
      this.stmt('UPDATE runs SET last_heartbeat_ms = ? WHERE id = ?').run(atMs, runId);
      if (guestMonotonicMs !== undefined) this.stmt(CLOCK_UPDATE_SQLITE).run({ id: runId, g: guestMonotonicMs, h: atMs });
    })();
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.stmt(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
    return row === undefined ? undefined : toRun(row);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.platform !== undefined) { where.push('r.platform = ?'); args.push(filter.platform); }
    if (filter.label !== undefined) { where.push('r.label = ?'); args.push(filter.label); }
    if (filter.hostname !== undefined) { where.push('r.hostname = ?'); args.push(filter.hostname); }
    if (filter.statuses !== undefined && filter.statuses.length > 0) {
      where.push(`r.status IN (${filter.statuses.map(() => '?').join(', ')})`);
      args.push(...filter.statuses);
    }
    if (filter.since !== undefined) { where.push('r.started_at_ms >= ?'); args.push(filter.since); }
    if (filter.until !== undefined) { where.push('r.started_at_ms <= ?'); args.push(filter.until); }
    const sql = `${RUN_SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at_ms DESC, r.id${
      filter.limit !== undefined ? ' LIMIT ?' : ''
    }`;
    if (filter.limit !== undefined) args.push(filter.limit);
    return (this.stmt(sql).all(...args) as RunRow[]).map(toRun);
  }

  async getSamples(runIds: readonly string[]): Promise<SampleRecord[]> {
    if (runIds.length === 0) return [];
    const out: SampleRecord[] = [];
    const stmt = this.stmt('SELECT * FROM samples WHERE run_id = ? ORDER BY finished_at_ms, id');
    for (const id of runIds) out.push(...(stmt.all(id) as SampleRow[]).map(toSample));
    return out;
  }

  async aggregateCells(filter: AggregateFilter): Promise<CellAggregate[]> {
    const narrowed = filter.hostname !== undefined || filter.since !== undefined || filter.until !== undefined;
    if (!narrowed) {
      // Kept up to date by triggers (migration 4): a few hundred rows whatever the store's size.
      return (this.stmt('SELECT * FROM cell_stats').all() as CellRow[]).map(toCell);
    }
    // Narrowed by host or time: aggregate the matching runs' samples now.
    const { where, args } = finishedRunsWhere(filter);
    const sql = `SELECT ${CELL_AGGREGATE_COLUMNS} FROM samples s JOIN runs r ON r.id = s.run_id WHERE ${where}
      GROUP BY r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, agent_major`;
    return (this.stmt(sql).all(...args) as CellRow[]).map(toCell);
  }

  async groupRuns(filter: AggregateFilter): Promise<GroupRuns[]> {
    const { where, args } = finishedRunsWhere(filter);
    const rows = this.stmt(`SELECT ${GROUP_RUN_COLUMNS} FROM runs r WHERE ${where} ORDER BY r.started_at_ms DESC, r.id`).all(...args) as GroupRunRow[];
    return groupRunRows(rows);
  }

  async countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>> {
    const rows = this.stmt('SELECT status, COUNT(*) AS n FROM runs GROUP BY status').all() as { status: RunStatus; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async markLostRuns(cutoffMs: number, nowMs: number): Promise<RunRecord[]> {
    const ids = this.stmt("SELECT id FROM runs WHERE status = 'running' AND last_heartbeat_ms < ?").pluck().all(cutoffMs) as string[];
    const mark = this.stmt(
      "UPDATE runs SET status = 'lost', ended_at_ms = ?, error = 'no heartbeat since ' || last_heartbeat_ms WHERE id = ? AND status = 'running'",
    );
    this.db.transaction(() => ids.forEach((id) => mark.run(nowMs, id)))();
    const out: RunRecord[] = [];
    for (const id of ids) {
      const run = await this.getRun(id);
      if (run !== undefined) out.push(run);
    }
    return out;
  }

  async createJob(job: JobRecord, agentIds: readonly string[]): Promise<void> {
    const insertJob = this.stmt('INSERT INTO jobs (id, platform, profile, label, created_at_ms) VALUES (?, ?, ?, ?, ?)');
    const assign = this.stmt('INSERT INTO job_assignments (job_id, agent_id) VALUES (?, ?)');
    this.db.transaction(() => {
      insertJob.run(job.id, job.platform, job.profile, job.label, job.createdAtMs);
      for (const a of agentIds) assign.run(job.id, a);
    })();
    for (const w of [...this.jobWatchers]) w(agentIds);
  }

  async takePendingJob(agentId: string, nowMs: number, retakeBeforeMs?: number): Promise<JobRecord | undefined> {
    // One statement: SQLite runs it under the write lock, so an assignment is taken once
    // even by two processes on the same file.
    const retake = retakeBeforeMs ?? -1;
    const taken = this.stmt(
      `UPDATE job_assignments SET taken_at_ms = ?
       WHERE agent_id = ? AND (taken_at_ms IS NULL OR taken_at_ms < ?) AND job_id = (
         SELECT a.job_id FROM job_assignments a JOIN jobs j ON j.id = a.job_id
         WHERE a.agent_id = ? AND (a.taken_at_ms IS NULL OR a.taken_at_ms < ?)
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = a.job_id AND r.agent_id = a.agent_id)
         ORDER BY j.created_at_ms, j.id LIMIT 1)
       RETURNING job_id`,
    ).pluck().get(nowMs, agentId, retake, agentId, retake) as string | undefined;
    if (taken === undefined) return undefined;
    const row = this.stmt('SELECT * FROM jobs WHERE id = ?').get(taken) as { id: string; platform: string; profile: string; label: string; created_at_ms: number };
    return { id: row.id, platform: row.platform, profile: row.profile, label: row.label, createdAtMs: row.created_at_ms };
  }

  async releaseJob(jobId: string, agentId: string): Promise<void> {
    // Only while no run of that job exists: a started run means the agent did get it.
    this.stmt(
      `UPDATE job_assignments SET taken_at_ms = NULL WHERE job_id = ? AND agent_id = ?
       AND NOT EXISTS (SELECT 1 FROM runs WHERE job_id = ? AND agent_id = ?)`,
    ).run(jobId, agentId, jobId, agentId);
    for (const w of [...this.jobWatchers]) w([agentId]);
  }

  async agentsWithPendingJobs(agentIds: readonly string[]): Promise<string[]> {
    if (agentIds.length === 0) return [];
    return this.stmt('SELECT DISTINCT agent_id FROM job_assignments WHERE taken_at_ms IS NULL AND agent_id IN (SELECT value FROM json_each(?))')
      .pluck()
      .all(JSON.stringify(agentIds)) as string[];
  }

  async watchJobAssignments(listener: JobAssignedListener): Promise<() => Promise<void>> {
    this.jobWatchers.add(listener);
    return async () => {
      this.jobWatchers.delete(listener);
    };
  }

  async recordPresence(p: PresenceRecord): Promise<void> {
    this.stmt(
      `INSERT INTO agent_presence (agent_id, collector_id, platform, run_id, takes_jobs, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(agent_id) DO UPDATE SET collector_id = excluded.collector_id, platform = excluded.platform, run_id = excluded.run_id,
         takes_jobs = excluded.takes_jobs, last_seen_ms = excluded.last_seen_ms`,
    ).run(p.agentId, p.collectorId, p.platform, p.runId, p.takesJobs ? 1 : 0, p.lastSeenMs);
  }

  async listPresence(sinceMs: number): Promise<PresenceRecord[]> {
    const rows = this.stmt('SELECT * FROM agent_presence WHERE last_seen_ms >= ? ORDER BY agent_id').all(sinceMs) as {
      agent_id: string; collector_id: string; platform: string; run_id: string; takes_jobs: number; last_seen_ms: number;
    }[];
    return rows.map((r) => ({ agentId: r.agent_id, collectorId: r.collector_id, platform: r.platform, runId: r.run_id, takesJobs: r.takes_jobs === 1, lastSeenMs: r.last_seen_ms }));
  }

  async countPresence(sinceMs: number): Promise<PresenceCount[]> {
    const rows = this.stmt(
      `SELECT collector_id, platform, run_id <> '' AS busy, takes_jobs, COUNT(*) AS n FROM agent_presence WHERE last_seen_ms >= ?
       GROUP BY collector_id, platform, run_id <> '', takes_jobs ORDER BY collector_id, platform, busy, takes_jobs`,
    ).all(sinceMs) as { collector_id: string; platform: string; busy: number; takes_jobs: number; n: number }[];
    return rows.map((r) => ({ collectorId: r.collector_id, platform: r.platform, busy: r.busy === 1, takesJobs: r.takes_jobs === 1, agents: r.n }));
  }

  private jobView(row: { id: string; platform: string; profile: string; label: string; created_at_ms: number }): JobView {
    const assignments = this.db
      .prepare(
        `SELECT a.agent_id, a.taken_at_ms, r.id AS run_id, r.status,
           (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) AS samples
         FROM job_assignments a LEFT JOIN runs r ON r.job_id = a.job_id AND r.agent_id = a.agent_id
         WHERE a.job_id = ? ORDER BY a.agent_id`,
      )
      .all(row.id) as { agent_id: string; taken_at_ms: number | null; run_id: string | null; status: RunStatus | null; samples: number | null }[];
    const list: JobAssignmentRecord[] = assignments.map((a) => ({
      agentId: a.agent_id,
      state: a.status ?? (a.taken_at_ms === null ? 'assigned' : 'taken'),
      runId: a.run_id ?? '',
      samples: a.samples ?? 0,
    }));
    const ended = (s: JobAssignmentRecord['state']): boolean => s === 'completed' || s === 'partial' || s === 'failed' || s === 'lost' || s === 'cancelled';
    const state = list.length > 0 && list.every((a) => ended(a.state)) ? 'done' : list.some((a) => a.state !== 'assigned') ? 'running' : 'pending';
    return {
      job: { id: row.id, platform: row.platform, profile: row.profile, label: row.label, createdAtMs: row.created_at_ms },
      state,
      assignments: list,
    };
  }

  async getJob(id: string): Promise<JobView | undefined> {
    const row = this.stmt('SELECT * FROM jobs WHERE id = ?').get(id) as Parameters<SqliteStore['jobView']>[0] | undefined;
    return row === undefined ? undefined : this.jobView(row);
  }

  async listJobs(limit: number): Promise<JobView[]> {
    const rows = this.stmt('SELECT * FROM jobs ORDER BY created_at_ms DESC, id LIMIT ?').all(limit) as Parameters<SqliteStore['jobView']>[0][];
    return rows.map((r) => this.jobView(r));
  }

  async insertLogs(lines: readonly LogRecord[]): Promise<number> {
    const stmt = this.stmt('INSERT INTO run_logs (agent_id, run_id, time_ms, level, message, fields_json) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => lines.forEach((l) => stmt.run(l.agentId, l.runId, l.timeMs, l.level, l.message, l.fieldsJson)))();
    return lines.length;
  }

  async getLogs(runId: string, limit: number): Promise<LogRecord[]> {
    const rows = this.stmt('SELECT * FROM run_logs WHERE run_id = ? ORDER BY seq LIMIT ?').all(runId, limit) as {
      agent_id: string; run_id: string; time_ms: number; level: string; message: string; fields_json: string;
    }[];
    return rows.map((r) => ({ agentId: r.agent_id, runId: r.run_id, timeMs: r.time_ms, level: r.level, message: r.message, fieldsJson: r.fields_json }));
  }

  async createToken(t: TokenRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO tokens (id, name, kind, platform, secret_hash, created_at_ms, expires_at_ms, revoked_at_ms, agent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(t.id, t.name, t.kind, t.platform, t.secretHash, t.createdAtMs, t.expiresAtMs ?? null, t.revokedAtMs ?? null, t.agentId);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.stmt('SELECT * FROM tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row === undefined ? undefined : toToken(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.stmt('SELECT * FROM tokens ORDER BY created_at_ms, id').all() as TokenRow[]).map(toToken);
  }

  async revokeTokens(idOrName: string, nowMs: number): Promise<TokenRecord[]> {
    const rows = this.stmt('SELECT * FROM tokens WHERE (id = ? OR name = ?) AND revoked_at_ms IS NULL').all(idOrName, idOrName) as TokenRow[];
    const stmt = this.stmt('UPDATE tokens SET revoked_at_ms = ? WHERE id = ?');
    this.db.transaction(() => rows.forEach((r) => stmt.run(nowMs, r.id)))();
    return rows.map((r) => toToken({ ...r, revoked_at_ms: nowMs }));
  }

  async bindToken(tokenId: string, agentId: string): Promise<TokenBinding> {
    // One writer at a time (a transaction) and the unique index tokens_agent_once.
    return this.db.transaction((): TokenBinding => {
      const own = this.stmt('SELECT agent_id FROM tokens WHERE id = ?').pluck().get(tokenId) as string | undefined;
      if (own === agentId) return { outcome: 'bound' };
      if (own !== undefined && own !== '') return { outcome: 'token-bound-elsewhere', agentId: own };
      const holder = this.stmt('SELECT id FROM tokens WHERE agent_id = ? AND revoked_at_ms IS NULL AND id <> ?').pluck().get(agentId, tokenId) as string | undefined;
      if (holder !== undefined) return { outcome: 'agent-taken', tokenId: holder };
      this.stmt("UPDATE tokens SET agent_id = ? WHERE id = ? AND agent_id = ''").run(agentId, tokenId);
      return { outcome: 'bound' };
    })();
  }

  async rebindToken(idOrName: string, agentId: string): Promise<Rebinding> {
    return this.db.transaction((): Rebinding => {
      const rows = this.stmt("SELECT * FROM tokens WHERE (id = ? OR name = ?) AND revoked_at_ms IS NULL AND kind = 'agent'").all(idOrName, idOrName) as TokenRow[];
      const chosen = pickOneToken(idOrName, rows);
      if (!chosen.ok) return chosen;
      const holders = agentId === '' ? [] : (this.stmt('SELECT * FROM tokens WHERE agent_id = ? AND revoked_at_ms IS NULL AND id <> ?').all(agentId, chosen.row.id) as TokenRow[]);
      const unbind = this.stmt("UPDATE tokens SET agent_id = '' WHERE id = ?");
      for (const h of holders) unbind.run(h.id);
      this.stmt('UPDATE tokens SET agent_id = ? WHERE id = ?').run(agentId, chosen.row.id);
      return { ok: true, token: toToken({ ...chosen.row, agent_id: agentId }), unbound: holders.map((h) => toToken({ ...h, agent_id: '' })) };
    })();
  }

  async putRunConfiguration(c: RunConfigurationRecord): Promise<void> {
    this.stmt(
      `INSERT INTO run_configurations (run_id, settings_json, host_kernel, qemu_version, libvirt_version, accelerator, recorded_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET settings_json = excluded.settings_json, host_kernel = excluded.host_kernel,
         qemu_version = excluded.qemu_version, libvirt_version = excluded.libvirt_version, accelerator = excluded.accelerator,
         recorded_at_ms = excluded.recorded_at_ms`,
    ).run(c.runId, JSON.stringify(c.settings), c.hostKernel, c.qemuVersion, c.libvirtVersion, c.accelerator, c.recordedAtMs);
  }

  async getRunConfigurations(runIds: readonly string[]): Promise<RunConfigurationRecord[]> {
    const stmt = this.stmt('SELECT * FROM run_configurations WHERE run_id = ?');
    return runIds.flatMap((id) => {
      const row = stmt.get(id) as RunConfigurationRow | undefined;
      return row === undefined ? [] : [toRunConfiguration(row)];
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
