// Row shapes and row → record mappings of the store (the same columns on SQLite and
// PostgreSQL).
import type { GroupRuns, RunProvenance } from './store';
import {
  clockCheck,
  EMPTY_INVENTORY,
  type AgentRecord,
  type ClockCheck,
  type EvidenceRecord,
  type FailedBenchmarkRecord,
  type InventoryRecord,
  type RunConfigurationRecord,
  type RunRecord,
  type RunStatus,
  type TokenRecord,
} from '../model';

export interface AgentRow {
  id: string;
  hostname: string;
  declared_platform: string;
  detected_platform: string;
  platform: string;
  evidence_json: string;
  inventory_json: string;
  agent_version: string;
  enrolled_at_ms: number;
}

export function toAgent(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    hostname: row.hostname,
    declaredPlatform: row.declared_platform,
    detectedPlatform: row.detected_platform,
    platform: row.platform,
    evidence: JSON.parse(row.evidence_json) as EvidenceRecord[],
    inventory: { ...EMPTY_INVENTORY, ...(JSON.parse(row.inventory_json) as Partial<InventoryRecord>) },
    agentVersion: row.agent_version,
    enrolledAtMs: row.enrolled_at_ms,
  };
}

export interface TokenRow {
  id: string;
  name: string;
  kind: string;
  platform: string;
  secret_hash: string;
  created_at_ms: number;
  expires_at_ms: number | null;
  revoked_at_ms: number | null;
  agent_id: string;
}

export function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind as TokenRecord['kind'],
    platform: r.platform,
    secretHash: r.secret_hash,
    createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms ?? undefined,
    revokedAtMs: r.revoked_at_ms ?? undefined,
    agentId: r.agent_id,
  };
}

/** The one active agent token an operator named by id or name, or why there is none. */
export function pickOneToken(idOrName: string, rows: readonly TokenRow[]): { ok: true; row: TokenRow } | { ok: false; error: string } {
  const byId = rows.find((r) => r.id === idOrName);
  if (byId !== undefined) return { ok: true, row: byId };
  if (rows.length === 1) return { ok: true, row: rows[0] as TokenRow };
  if (rows.length === 0) return { ok: false, error: `no active agent token with id or name "${idOrName}" (see \`guestbench-collector token list\`)` };
  return { ok: false, error: `${rows.length} active agent tokens are named "${idOrName}": give the id of one (${rows.map((r) => r.id).join(', ')})` };
}

export interface RunRow {
  id: string;
  agent_id: string;
  hostname: string;
  platform: string;
  declared_platform: string;
  detected_platform: string;
  label: string;
  profile: string;
  agent_version: string;
  status: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  error: string;
  last_heartbeat_ms: number;
  inventory_json: string;
  evidence_json: string;
  sample_count: number;
  job_id: string;
  failed_benchmarks_json: string;
  clock_guest_first_ms: number | null;
  clock_host_first_ms: number | null;
  clock_guest_last_ms: number | null;
  clock_host_last_ms: number | null;
}

/** The clock check of a run row's first and latest heartbeat with guest time. */
export function clockOfRow(row: Pick<RunRow, 'clock_guest_first_ms' | 'clock_host_first_ms' | 'clock_guest_last_ms' | 'clock_host_last_ms'>): ClockCheck {
  const n = (v: number | string | null): number => (v === null ? 0 : Number(v));
  return clockCheck(n(row.clock_guest_last_ms) - n(row.clock_guest_first_ms), n(row.clock_host_last_ms) - n(row.clock_host_first_ms));
}

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    agentId: row.agent_id,
    hostname: row.hostname,
    platform: row.platform,
    declaredPlatform: row.declared_platform,
    detectedPlatform: row.detected_platform,
    label: row.label,
    profile: row.profile,
    agentVersion: row.agent_version,
    status: row.status as RunStatus,
    startedAtMs: row.started_at_ms,
    endedAtMs: row.ended_at_ms ?? undefined,
    error: row.error,
    sampleCount: row.sample_count,
    inventory: { ...EMPTY_INVENTORY, ...(JSON.parse(row.inventory_json) as Partial<InventoryRecord>) },
    evidence: JSON.parse(row.evidence_json) as EvidenceRecord[],
    lastHeartbeatMs: row.last_heartbeat_ms,
    jobId: row.job_id,
    failedBenchmarks: JSON.parse(row.failed_benchmarks_json) as FailedBenchmarkRecord[],
    clock: clockOfRow(row),
  };
}

/** The columns groupRuns reads of each finished run `r`. */
export const GROUP_RUN_COLUMNS = `r.id, r.platform, r.label, r.hostname, r.declared_platform, r.detected_platform,
  r.clock_guest_first_ms, r.clock_host_first_ms, r.clock_guest_last_ms, r.clock_host_last_ms`;

export type GroupRunRow = Pick<
  RunRow,
  | 'id'
  | 'platform'
  | 'label'
  | 'hostname'
  | 'declared_platform'
  | 'detected_platform'
  | 'clock_guest_first_ms'
  | 'clock_host_first_ms'
  | 'clock_guest_last_ms'
  | 'clock_host_last_ms'
>;

/** Rows newest first → groups in order of their newest run, each run's provenance kept. */
export function groupRunRows(rows: readonly GroupRunRow[]): GroupRuns[] {
  const groups = new Map<string, { platform: string; label: string; runIds: string[]; hostnames: Set<string>; runs: RunProvenance[] }>();
  for (const r of rows) {
    const key = JSON.stringify([r.platform, r.label]);
    const g = groups.get(key) ?? { platform: r.platform, label: r.label, runIds: [], hostnames: new Set<string>(), runs: [] };
    groups.set(key, g);
    g.runIds.push(r.id);
    g.hostnames.add(r.hostname);
    g.runs.push({ id: r.id, hostname: r.hostname, declaredPlatform: r.declared_platform, detectedPlatform: r.detected_platform, clock: clockOfRow(r) });
  }
  return [...groups.values()].map((g) => ({ platform: g.platform, label: g.label, runIds: g.runIds, hostnames: [...g.hostnames], runs: g.runs }));
}

/**
 * Heartbeats among which the least delayed one is kept, at the start and near the end: two,
 * so that a run of three heartbeats still has a span to judge.
 */
export const CLOCK_BEATS_PER_PICK = 2;

/**
 * The clock check's UPDATE of run `id` for one heartbeat with guest time `g` at collector
 * time `h` (placeholders as the backend spells them). A heartbeat reaches the collector
 * late, never early, so host − guest is the true offset plus a delay ≥ 0: of the first few
 * heartbeats the one with the smallest offset is kept, and near the end the latest pair is
 * replaced by any with a smaller offset, or by the next one once it is a few beats old.
 * Every SET expression reads the row as it was (SQL semantics), which the CASEs rely on.
 * A run marked lost that still heartbeats was only cut off (its end revives it), so its
 * heartbeats still count.
 */
export function clockUpdateSql(id: string, g: string, h: string): string {
  const k = CLOCK_BEATS_PER_PICK;
  const offset = `(${h} - ${g})`;
  const takeFirst = `(clock_guest_first_ms IS NULL OR (clock_beats < ${k} AND ${offset} < clock_host_first_ms - clock_guest_first_ms))`;
  const takeLast = `(clock_guest_last_ms IS NULL OR clock_beats - clock_last_beat >= ${k} OR ${offset} <= clock_host_last_ms - clock_guest_last_ms)`;
  return `UPDATE runs SET
    clock_guest_first_ms = CASE WHEN ${takeFirst} THEN ${g} ELSE clock_guest_first_ms END,
    clock_host_first_ms = CASE WHEN ${takeFirst} THEN ${h} ELSE clock_host_first_ms END,
    clock_guest_last_ms = CASE WHEN ${takeLast} THEN ${g} ELSE clock_guest_last_ms END,
    clock_host_last_ms = CASE WHEN ${takeLast} THEN ${h} ELSE clock_host_last_ms END,
    clock_last_beat = CASE WHEN ${takeLast} THEN clock_beats + 1 ELSE clock_last_beat END,
    clock_beats = clock_beats + 1
  WHERE id = ${id} AND status IN ('running', 'lost') AND (clock_guest_last_ms IS NULL OR ${g} > clock_guest_last_ms)`;
}

export interface RunConfigurationRow {
  run_id: string;
  settings_json: string;
  host_kernel: string;
  qemu_version: string;
  libvirt_version: string;
  accelerator: string;
  recorded_at_ms: number;
}

export function toRunConfiguration(r: RunConfigurationRow): RunConfigurationRecord {
  return {
    runId: r.run_id,
    settings: JSON.parse(r.settings_json) as Record<string, string>,
    hostKernel: r.host_kernel,
    qemuVersion: r.qemu_version,
    libvirtVersion: r.libvirt_version,
    accelerator: r.accelerator,
    recordedAtMs: Number(r.recorded_at_ms),
  };
}
