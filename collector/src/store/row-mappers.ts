// Row shapes and row → record mappings that the SQLite and PostgreSQL stores share (the
// columns are the same in both schemas).
import type { TokenRecord } from '../auth/tokens';
import { EMPTY_INVENTORY, type AgentRecord, type EvidenceRecord, type InventoryRecord, type RunConfigurationRecord, type RunRecord, type RunStatus } from '../model';

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
  };
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
