// Schema of the PostgreSQL store, as numbered migrations applied in order, once. It mirrors
// the SQLite schema table for table, so that both stores answer the same Store contract.
import type { Migration } from './sqlite-migrations';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
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
        enrolled_at_ms BIGINT NOT NULL
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
        started_at_ms BIGINT NOT NULL,
        ended_at_ms BIGINT,
        error TEXT NOT NULL DEFAULT '',
        last_heartbeat_ms BIGINT NOT NULL,
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
        value DOUBLE PRECISION NOT NULL,
        trials DOUBLE PRECISION[] NOT NULL,
        trial_count INTEGER NOT NULL,
        rsd DOUBLE PRECISION NOT NULL,
        steal_fraction DOUBLE PRECISION NOT NULL,
        parameters_json TEXT NOT NULL,
        is_primary BOOLEAN NOT NULL,
        clocksource TEXT NOT NULL,
        duration_seconds DOUBLE PRECISION NOT NULL,
        finished_at_ms BIGINT NOT NULL
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
        created_at_ms BIGINT NOT NULL
      );
      CREATE TABLE job_assignments (
        job_id TEXT NOT NULL REFERENCES jobs(id),
        agent_id TEXT NOT NULL,
        taken_at_ms BIGINT,
        PRIMARY KEY (job_id, agent_id)
      );
      CREATE TABLE run_logs (
        seq BIGSERIAL PRIMARY KEY,
        agent_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
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
        created_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT,
        revoked_at_ms BIGINT,
        agent_id TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX tokens_name ON tokens(name);
    `,
  },
  {
    version: 4,
    description: 'comparison: PostgreSQL aggregates the cells at query time (SQLite keeps them in cell_stats); an index for finished runs',
    sql: `
      CREATE INDEX runs_status_started ON runs(status, started_at_ms);
    `,
  },
  {
    version: 5,
    description: 'an agent id belongs to one active token: a unique index makes the bind atomic across collectors (of tokens sharing an agent id before, the oldest keeps it, the others are revoked)',
    sql: `
      UPDATE tokens SET revoked_at_ms = (extract(epoch FROM now()) * 1000)::bigint
       WHERE agent_id <> '' AND revoked_at_ms IS NULL AND EXISTS (
         SELECT 1 FROM tokens t WHERE t.agent_id = tokens.agent_id AND t.revoked_at_ms IS NULL AND t.id <> tokens.id
            AND (t.created_at_ms < tokens.created_at_ms OR (t.created_at_ms = tokens.created_at_ms AND t.id COLLATE "C" < tokens.id COLLATE "C")));
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
        takes_jobs BOOLEAN NOT NULL,
        last_seen_ms BIGINT NOT NULL
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
      ALTER TABLE runs ADD COLUMN clock_guest_first_ms DOUBLE PRECISION;
      ALTER TABLE runs ADD COLUMN clock_host_first_ms DOUBLE PRECISION;
      ALTER TABLE runs ADD COLUMN clock_guest_last_ms DOUBLE PRECISION;
      ALTER TABLE runs ADD COLUMN clock_host_last_ms DOUBLE PRECISION;
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
        recorded_at_ms BIGINT NOT NULL
      );
    `,
  },
];
