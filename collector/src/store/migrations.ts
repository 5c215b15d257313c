// The schema of both engines, as numbered migrations applied in order, once. Each one is
// written once with the dialect's fragments; the version numbers and the bookkeeping table
// (schema_migrations) are those both stores have always kept, so existing databases go on.
import { addCells, cellStatsTable } from './cells';
import type { Dialect } from './dialect';

export interface Migration {
  readonly version: number;
  readonly description: string;
  sql(d: Dialect): string;
}

/** A sample's trials summed once as it is stored: count, Σ, min, Σ ln, Σ ln² (see trialStats). */
const trialColumns = (d: Dialect): string[] =>
  ['trial_n INTEGER', `trial_sum ${d.real}`, `trial_min ${d.real}`, `trial_log_sum ${d.real}`, `trial_log_sumsq ${d.real}`].map(
    (c) => `ADD COLUMN ${c} NOT NULL DEFAULT 0`,
  );

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'agents, runs and samples',
    sql: (d) => `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        declared_platform TEXT NOT NULL,
        detected_platform TEXT NOT NULL,
        platform TEXT NOT NULL,
        evidence_json TEXT NOT NULL,
        inventory_json TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        enrolled_at_ms ${d.int} NOT NULL
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
        started_at_ms ${d.int} NOT NULL,
        ended_at_ms ${d.int},
        error TEXT NOT NULL DEFAULT '',
        last_heartbeat_ms ${d.int} NOT NULL,
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
        value ${d.real} NOT NULL,
        ${d.engine === 'sqlite' ? 'trials_json TEXT' : 'trials DOUBLE PRECISION[]'} NOT NULL,
        trial_count INTEGER NOT NULL,
        rsd ${d.real} NOT NULL,
        steal_fraction ${d.real} NOT NULL,
        parameters_json TEXT NOT NULL,
        is_primary ${d.bool} NOT NULL,
        clocksource TEXT NOT NULL,
        duration_seconds ${d.real} NOT NULL,
        finished_at_ms ${d.int} NOT NULL
      );
      CREATE INDEX samples_run ON samples(run_id);
    `,
  },
  {
    version: 2,
    description: 'jobs for daemon agents, and forwarded agent logs',
    sql: (d) => `
      ALTER TABLE runs ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
      CREATE INDEX runs_job ON runs(job_id) WHERE job_id <> '';
      CREATE INDEX runs_status_heartbeat ON runs(status, last_heartbeat_ms);
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        profile TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at_ms ${d.int} NOT NULL
      );
      CREATE TABLE job_assignments (
        job_id TEXT NOT NULL REFERENCES jobs(id),
        agent_id TEXT NOT NULL,
        taken_at_ms ${d.int},
        PRIMARY KEY (job_id, agent_id)
      );
      CREATE TABLE run_logs (
        seq ${d.serialKey},
        agent_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        time_ms ${d.int} NOT NULL,
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
    sql: (d) => `
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('agent', 'operator')),
        platform TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at_ms ${d.int} NOT NULL,
        expires_at_ms ${d.int},
        revoked_at_ms ${d.int},
        agent_id TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX tokens_name ON tokens(name);
    `,
  },
  {
    version: 4,
    // SQLite databases migrated before migration 10 got two triggers here, which 10 drops.
    description: 'comparison cells kept up to date, so compare reads a few hundred rows, not every sample (SQLite); an index for finished runs (PostgreSQL)',
    sql: (d) =>
      d.engine === 'postgres'
        ? 'CREATE INDEX runs_status_started ON runs(status, started_at_ms);'
        : `
      ${trialColumns(d)
        .map((c) => `ALTER TABLE samples ${c};`)
        .join('\n')}
      UPDATE samples SET
        trial_n = (SELECT COUNT(*) FROM json_each(samples.trials_json)),
        trial_sum = (SELECT COALESCE(SUM(value), 0) FROM json_each(samples.trials_json)),
        trial_min = (SELECT COALESCE(MIN(value), 0) FROM json_each(samples.trials_json)),
        trial_log_sum = (SELECT COALESCE(SUM(CASE WHEN value > 0 THEN ln(value) END), 0) FROM json_each(samples.trials_json)),
        trial_log_sumsq = (SELECT COALESCE(SUM(CASE WHEN value > 0 THEN ln(value) * ln(value) END), 0) FROM json_each(samples.trials_json));
      ${cellStatsTable(d)};
      ${addCells(d, "r.status <> 'running'", { doubt: false })};
    `,
  },
  {
    version: 5,
    description:
      'an agent id belongs to one active token: a unique index makes the bind atomic (of tokens sharing an agent id before, the oldest keeps it, the others are revoked)',
    sql: (d) => `
      UPDATE tokens SET revoked_at_ms = ${d.engine === 'sqlite' ? "CAST(strftime('%s', 'now') AS INTEGER) * 1000" : '(extract(epoch FROM now()) * 1000)::bigint'}
       WHERE agent_id <> '' AND revoked_at_ms IS NULL AND EXISTS (
         SELECT 1 FROM tokens t WHERE t.agent_id = tokens.agent_id AND t.revoked_at_ms IS NULL AND t.id <> tokens.id
            AND (t.created_at_ms < tokens.created_at_ms OR (t.created_at_ms = tokens.created_at_ms AND t.id${d.bytewise} < tokens.id${d.bytewise})));
      CREATE UNIQUE INDEX tokens_agent_once ON tokens(agent_id) WHERE agent_id <> '' AND revoked_at_ms IS NULL;
    `,
  },
  {
    version: 6,
    description: 'presence: which agent is connected to which collector, idle or busy, and when it was last heard of',
    sql: (d) => `
      CREATE TABLE agent_presence (
        agent_id TEXT PRIMARY KEY,
        collector_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        run_id TEXT NOT NULL,
        takes_jobs ${d.bool} NOT NULL,
        last_seen_ms ${d.int} NOT NULL
      );
      CREATE INDEX agent_presence_seen ON agent_presence(last_seen_ms);
      CREATE INDEX job_assignments_pending ON job_assignments(agent_id) WHERE taken_at_ms IS NULL;
    `,
  },
  {
    version: 7,
    description: 'partial runs: the benchmarks that failed and why; sample flags (how a value was obtained)',
    sql: () => `
      ALTER TABLE runs ADD COLUMN failed_benchmarks_json TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE samples ADD COLUMN flags_json TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 8,
    description: 'clock check: an early and a late heartbeat of a run, each as (guest monotonic ms, collector wall ms), the least delayed of a few',
    sql: (d) => `
      ALTER TABLE runs ADD COLUMN clock_guest_first_ms ${d.real};
      ALTER TABLE runs ADD COLUMN clock_host_first_ms ${d.real};
      ALTER TABLE runs ADD COLUMN clock_guest_last_ms ${d.real};
      ALTER TABLE runs ADD COLUMN clock_host_last_ms ${d.real};
      ALTER TABLE runs ADD COLUMN clock_beats INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE runs ADD COLUMN clock_last_beat INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 9,
    description: 'the hypervisor configuration each lab run was made under',
    sql: (d) => `
      CREATE TABLE run_configurations (
        run_id TEXT PRIMARY KEY,
        settings_json TEXT NOT NULL,
        host_kernel TEXT NOT NULL,
        qemu_version TEXT NOT NULL,
        libvirt_version TEXT NOT NULL,
        accelerator TEXT NOT NULL,
        recorded_at_ms ${d.int} NOT NULL
      );
    `,
  },
  {
    version: 10,
    description:
      'one store for both engines: samples keep their trials as JSON text with their sums (PostgreSQL), cell_stats is kept by the store, not by triggers (SQLite)',
    sql: (d) =>
      d.engine === 'sqlite'
        ? 'DROP TRIGGER IF EXISTS cell_stats_run_finished; DROP TRIGGER IF EXISTS cell_stats_late_sample;'
        : `
      ALTER TABLE samples ADD COLUMN trials_json TEXT, ${trialColumns(d).join(', ')};
      UPDATE samples SET trials_json = array_to_json(trials)::text, trial_n = cardinality(trials),
        trial_sum = COALESCE((SELECT SUM(x) FROM unnest(trials) x), 0),
        trial_min = COALESCE((SELECT MIN(x) FROM unnest(trials) x), 0),
        trial_log_sum = COALESCE((SELECT SUM(ln(x)) FROM unnest(trials) x WHERE x > 0), 0),
        trial_log_sumsq = COALESCE((SELECT SUM(ln(x) * ln(x)) FROM unnest(trials) x WHERE x > 0), 0);
      ALTER TABLE samples ALTER COLUMN trials_json SET NOT NULL, DROP COLUMN trials;
    `,
  },
  {
    version: 11,
    description:
      "each comparison cell counts the samples the agent flagged as measuring its harness (not-settled, not-optimized, optimization-unverified); SQLite's kept cells are counted again",
    sql: (d) =>
      d.engine === 'postgres'
        ? 'SELECT 1;'
        : `
      ALTER TABLE cell_stats ADD COLUMN doubt_n INTEGER NOT NULL DEFAULT 0;
      DELETE FROM cell_stats;
      ${addCells(d, "r.status <> 'running'")};
    `,
  },
  {
    version: 12,
    description:
      "WaitForJob's take by index: an agent's assignments, taken or not (it retakes a lost one, which the pending-only index cannot serve), and its run of a job; each take read every assignment and every run",
    sql: () => 'CREATE INDEX job_assignments_agent ON job_assignments(agent_id); CREATE INDEX runs_agent_job ON runs(agent_id, job_id);',
  },
];
