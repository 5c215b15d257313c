// Row shapes and row → record mappings that the SQLite and PostgreSQL stores share (the
// columns are the same in both schemas).
import { EMPTY_INVENTORY, type AgentRecord, type EvidenceRecord, type FailedBenchmarkRecord, type InventoryRecord, type RunRecord, type RunStatus, type TokenRecord } from '../model';

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
    id: r.id, name: r.name, kind: r.kind as TokenRecord['kind'], platform: r.platform, secretHash: r.secret_hash, createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms ?? undefined, revokedAtMs: r.revoked_at_ms ?? undefined, agentId: r.agent_id,
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
  };
}
