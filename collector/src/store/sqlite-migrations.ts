// Schema of the embedded SQLite store, as numbered migrations applied in order, once.

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

const CELL_KEY = 'platform, label, benchmark_id, metric, unit, direction, parameters_json, agent_major';
/** The agent major version of runs row `r`. */
const MAJOR_R = "CASE WHEN instr(r.agent_version, '.') > 0 THEN substr(r.agent_version, 1, instr(r.agent_version, '.') - 1) ELSE r.agent_version END";
const MAJOR_NEW = MAJOR_R.replace(/r\.agent_version/g, 'new.agent_version');
const LOG_V = 'CASE WHEN s.value > 0 THEN ln(s.value) ELSE 0 END';
/** One sample `s` of run `new` as a cell row (used inside the run trigger, grouped per cell there). */
const CELL_SELECT = `new.platform, new.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, ${MAJOR_NEW},
  s.is_primary, 1, 1, ${LOG_V}, ${LOG_V} * ${LOG_V}, s.value, s.value,
  s.trial_n, s.trial_log_sum, s.trial_log_sumsq, s.trial_sum, s.trial_min, s.rsd, s.steal_fraction`;
const LOG_NEWV = 'CASE WHEN new.value > 0 THEN ln(new.value) ELSE 0 END';
/** The inserted sample `new` of a finished run `r` as a cell row. */
const CELL_SELECT_ONE = `r.platform, r.label, new.benchmark_id, new.metric, new.unit, new.direction, new.parameters_json, ${MAJOR_R},
  new.is_primary, 1, 1, ${LOG_NEWV}, ${LOG_NEWV} * ${LOG_NEWV}, new.value, new.value,
  new.trial_n, new.trial_log_sum, new.trial_log_sumsq, new.trial_sum, new.trial_min, new.rsd, new.steal_fraction`;
/** Every sample of finished runs, grouped per cell (the backfill). */
const CELL_SELECT_ALL = `r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, ${MAJOR_R},
  MAX(s.is_primary), COUNT(DISTINCT s.run_id), COUNT(*), SUM(${LOG_V}), SUM(${LOG_V} * ${LOG_V}), SUM(s.value), MIN(s.value),
  SUM(s.trial_n), SUM(s.trial_log_sum), SUM(s.trial_log_sumsq), SUM(s.trial_sum), MIN(s.trial_min), MAX(s.rsd), MAX(s.steal_fraction)`;
const CELL_MERGE = `is_primary = MAX(is_primary, excluded.is_primary), runs = runs + excluded.runs,
  value_n = value_n + excluded.value_n, value_log_sum = value_log_sum + excluded.value_log_sum,
  value_log_sumsq = value_log_sumsq + excluded.value_log_sumsq, value_sum = value_sum + excluded.value_sum,
  value_min = MIN(value_min, excluded.value_min), trial_n = trial_n + excluded.trial_n,
  trial_log_sum = trial_log_sum + excluded.trial_log_sum, trial_log_sumsq = trial_log_sumsq + excluded.trial_log_sumsq,
  trial_sum = trial_sum + excluded.trial_sum, trial_min = MIN(trial_min, excluded.trial_min),
  max_rsd = MAX(max_rsd, excluded.max_rsd), max_steal = MAX(max_steal, excluded.max_steal)`;

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'agents, runs and samples',
    sql: `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        declared_platform TEXT NOT NULL,
        detected_platform TEXT NOT NULL,
        platform TEXT NOT NULL,
        evidence_json TEXT NOT NULL,
        inventory_json TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        enrolled_at_ms INTEGER NOT NULL
      );
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL REFERENCES agents(id),
        hostname TEXT NOT NULL,
        platform TEXT NOT NULL,
        declared_platform TEXT NOT NULL,
        detected_platform TEXT NOT NULL,
        label TEXT NOT NULL,
        profile TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        error TEXT NOT NULL DEFAULT '',
        last_heartbeat_ms INTEGER NOT NULL,
        inventory_json TEXT NOT NULL,
        evidence_json TEXT NOT NULL
      );
      CREATE INDEX runs_group ON runs(platform, label);
      CREATE INDEX runs_started ON runs(started_at_ms);
      CREATE TABLE samples (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        benchmark_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        unit TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('higher', 'lower')),
        value REAL NOT NULL,
        trials_json TEXT NOT NULL,
        trial_count INTEGER NOT NULL,
        rsd REAL NOT NULL,
        steal_fraction REAL NOT NULL,
        parameters_json TEXT NOT NULL,
        is_primary INTEGER NOT NULL,
        clocksource TEXT NOT NULL,
        duration_seconds REAL NOT NULL,
        finished_at_ms INTEGER NOT NULL
      );
      CREATE INDEX samples_run ON samples(run_id);
    `,
  },
  {
    version: 2,
    description: 'jobs for daemon agents, and forwarded agent logs',
    sql: `
      ALTER TABLE runs ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
      CREATE INDEX runs_job ON runs(job_id) WHERE job_id <> '';
      CREATE INDEX runs_status_heartbeat ON runs(status, last_heartbeat_ms);
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        profile TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
      CREATE TABLE job_assignments (
        job_id TEXT NOT NULL REFERENCES jobs(id),
        agent_id TEXT NOT NULL,
        taken_at_ms INTEGER,
        PRIMARY KEY (job_id, agent_id)
      );
      CREATE TABLE run_logs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        fields_json TEXT NOT NULL
      );
      CREATE INDEX run_logs_run ON run_logs(run_id, seq);
    `,
  },
  {
    version: 3,
    description: 'enrollment and operator tokens, stored hashed',
    sql: `
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('agent', 'operator')),
        platform TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        revoked_at_ms INTEGER,
        agent_id TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX tokens_name ON tokens(name);
    `,
  },
  {
    version: 4,
    description: 'comparison cells kept up to date by triggers, so compare reads a few hundred rows, not every sample',
    sql: `
      ALTER TABLE samples ADD COLUMN trial_n INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE samples ADD COLUMN trial_sum REAL NOT NULL DEFAULT 0;
      ALTER TABLE samples ADD COLUMN trial_min REAL NOT NULL DEFAULT 0;
      ALTER TABLE samples ADD COLUMN trial_log_sum REAL NOT NULL DEFAULT 0;
      ALTER TABLE samples ADD COLUMN trial_log_sumsq REAL NOT NULL DEFAULT 0;
      UPDATE samples SET
        trial_n = (SELECT COUNT(*) FROM json_each(samples.trials_json)),
        trial_sum = (SELECT COALESCE(SUM(value), 0) FROM json_each(samples.trials_json)),
        trial_min = (SELECT COALESCE(MIN(value), 0) FROM json_each(samples.trials_json)),
        trial_log_sum = (SELECT COALESCE(SUM(CASE WHEN value > 0 THEN ln(value) END), 0) FROM json_each(samples.trials_json)),
        trial_log_sumsq = (SELECT COALESCE(SUM(CASE WHEN value > 0 THEN ln(value) * ln(value) END), 0) FROM json_each(samples.trials_json));

      CREATE TABLE cell_stats (
        platform TEXT NOT NULL, label TEXT NOT NULL, benchmark_id TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
        direction TEXT NOT NULL, parameters_json TEXT NOT NULL, agent_major TEXT NOT NULL,
        is_primary INTEGER NOT NULL, runs INTEGER NOT NULL,
        value_n INTEGER NOT NULL, value_log_sum REAL NOT NULL, value_log_sumsq REAL NOT NULL, value_sum REAL NOT NULL, value_min REAL NOT NULL,
        trial_n INTEGER NOT NULL, trial_log_sum REAL NOT NULL, trial_log_sumsq REAL NOT NULL, trial_sum REAL NOT NULL, trial_min REAL NOT NULL,
        max_rsd REAL NOT NULL, max_steal REAL NOT NULL,
        PRIMARY KEY (${CELL_KEY})
      );

      -- A run's samples count once it has finished: added when it leaves 'running', and a
      -- sample arriving for a finished run (a late resend) is added as it comes. One sample id
      -- per run and metric, so a run adds one to the runs of each of its cells.
      CREATE TRIGGER cell_stats_run_finished AFTER UPDATE OF status ON runs
      WHEN old.status = 'running' AND new.status <> 'running'
      BEGIN
        INSERT INTO cell_stats SELECT ${CELL_SELECT} FROM samples s WHERE s.run_id = new.id AND true
        ON CONFLICT (${CELL_KEY}) DO UPDATE SET ${CELL_MERGE};
      END;
      CREATE TRIGGER cell_stats_late_sample AFTER INSERT ON samples
      WHEN (SELECT status FROM runs WHERE id = new.run_id) <> 'running'
      BEGIN
        INSERT INTO cell_stats SELECT ${CELL_SELECT_ONE} FROM runs r WHERE r.id = new.run_id AND true
        ON CONFLICT (${CELL_KEY}) DO UPDATE SET ${CELL_MERGE};
      END;
      INSERT INTO cell_stats SELECT ${CELL_SELECT_ALL} FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.status <> 'running' AND true
        GROUP BY r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, ${MAJOR_R};
    `,
  },
  {
    version: 5,
    description: 'an agent id belongs to one active token: a unique index makes the bind atomic (of tokens sharing an agent id before, the oldest keeps it, the others are revoked)',
    sql: `
      UPDATE tokens SET revoked_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000
       WHERE agent_id <> '' AND revoked_at_ms IS NULL AND EXISTS (
         SELECT 1 FROM tokens t WHERE t.agent_id = tokens.agent_id AND t.revoked_at_ms IS NULL AND t.id <> tokens.id
            AND (t.created_at_ms < tokens.created_at_ms OR (t.created_at_ms = tokens.created_at_ms AND t.id < tokens.id)));
      CREATE UNIQUE INDEX tokens_agent_once ON tokens(agent_id) WHERE agent_id <> '' AND revoked_at_ms IS NULL;
    `,
  },
  {
    version: 6,
    description: 'presence: which agent is connected to which collector, idle or busy, and when it was last heard of',
    sql: `
      CREATE TABLE agent_presence (
        agent_id TEXT PRIMARY KEY,
        collector_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        run_id TEXT NOT NULL,
        takes_jobs INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      );
      CREATE INDEX agent_presence_seen ON agent_presence(last_seen_ms);
      CREATE INDEX job_assignments_pending ON job_assignments(agent_id) WHERE taken_at_ms IS NULL;
    `,
  },
  {
    version: 7,
    description: 'partial runs: the benchmarks that failed and why; sample flags (how a value was obtained)',
    sql: `
      ALTER TABLE runs ADD COLUMN failed_benchmarks_json TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE samples ADD COLUMN flags_json TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 8,
    description: 'clock check: an early and a late heartbeat of a run, each as (guest monotonic ms, collector wall ms), the least delayed of a few',
    sql: `
      ALTER TABLE runs ADD COLUMN clock_guest_first_ms REAL;
      ALTER TABLE runs ADD COLUMN clock_host_first_ms REAL;
      ALTER TABLE runs ADD COLUMN clock_guest_last_ms REAL;
      ALTER TABLE runs ADD COLUMN clock_host_last_ms REAL;
      ALTER TABLE runs ADD COLUMN clock_beats INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE runs ADD COLUMN clock_last_beat INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 9,
    description: 'the hypervisor configuration each lab run was made under',
    sql: `
      CREATE TABLE run_configurations (
        run_id TEXT PRIMARY KEY,
        settings_json TEXT NOT NULL,
        host_kernel TEXT NOT NULL,
        qemu_version TEXT NOT NULL,
        libvirt_version TEXT NOT NULL,
        accelerator TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL
      );
    `,
  },
];
