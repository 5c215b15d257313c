// The collector's own view of what it stores: plain typed records, independent of the
// wire format. The gRPC and HTTP layers translate to and from these.
import type { SampleFields } from '@guestbench/proto';

/** partial: the run finished, some benchmarks failed (failedBenchmarks), the others' samples count. */
export type RunStatus = 'running' | 'completed' | 'partial' | 'failed' | 'lost' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'partial', 'failed', 'lost', 'cancelled'];

/** A benchmark that gave no samples in a run, and why (as the agent said). */
export interface FailedBenchmarkRecord {
  readonly benchmarkId: string;
  readonly reason: string;
}

export type Direction = 'higher' | 'lower';

export interface EvidenceRecord {
  readonly source: string;
  readonly value: string;
  readonly suggests: string;
}

export interface InventoryRecord {
  readonly hostname: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly os: string;
  readonly arch: string;
  readonly clocksource: string;
  readonly cpuFlags: string;
  readonly systemVendor: string;
  readonly systemModel: string;
  readonly nodeVersion: string;
}

export interface AgentRecord {
  readonly id: string;
  readonly hostname: string;
  readonly declaredPlatform: string;
  readonly detectedPlatform: string;
  /** The platform its runs are filed under: the declared one when given, else the detected one. */
  readonly platform: string;
  readonly evidence: readonly EvidenceRecord[];
  readonly inventory: InventoryRecord;
  readonly agentVersion: string;
  readonly enrolledAtMs: number;
}

export interface RunRecord {
  readonly id: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly platform: string;
  readonly declaredPlatform: string;
  readonly detectedPlatform: string;
  /** Empty for an unlabelled run. */
  readonly label: string;
  readonly profile: string;
  readonly agentVersion: string;
  readonly status: RunStatus;
  readonly startedAtMs: number;
  readonly endedAtMs: number | undefined;
  readonly error: string;
  readonly sampleCount: number;
  readonly inventory: InventoryRecord;
  readonly evidence: readonly EvidenceRecord[];
  readonly lastHeartbeatMs: number;
  /** The job this run answers; '' for a run started by hand. */
  readonly jobId: string;
  /** The benchmarks that failed in a partial (or failed) run, and why; empty otherwise. */
  readonly failedBenchmarks: readonly FailedBenchmarkRecord[];
}

/** A stored sample: the protocol's fields (proto/src/wire.ts), its run and its trial count. */
export interface SampleRecord extends SampleFields {
  readonly runId: string;
  readonly trialCount: number;
}

export interface JobRecord {
  readonly id: string;
  /** '' for every platform. */
  readonly platform: string;
  readonly profile: string;
  readonly label: string;
  readonly createdAtMs: number;
}

export type AssignmentState = 'assigned' | 'taken' | RunStatus;

export interface JobAssignmentRecord {
  readonly agentId: string;
  readonly state: AssignmentState;
  readonly runId: string;
  readonly samples: number;
}

export interface JobView {
  readonly job: JobRecord;
  /** pending until an agent starts, running while a run runs, done when every run has ended. */
  readonly state: 'pending' | 'running' | 'done';
  readonly assignments: readonly JobAssignmentRecord[];
}

export interface LogRecord {
  readonly agentId: string;
  readonly runId: string;
  readonly timeMs: number;
  readonly level: string;
  readonly message: string;
  /** Other fields of the line, as a JSON object text. */
  readonly fieldsJson: string;
}

/** A group of runs is one platform and one label: "kvm", "kvm/virtio-scsi" (the protocol's rule). */
export { groupKey } from '@guestbench/proto';

export const EMPTY_INVENTORY: InventoryRecord = {
  hostname: '',
  cpuModel: '',
  cpus: 0,
  memoryBytes: 0,
  kernel: '',
  os: '',
  arch: '',
  clocksource: '',
  cpuFlags: '',
  systemVendor: '',
  systemModel: '',
  nodeVersion: '',
};

/** Keys sorted, so equal parameters give equal text (the comparison pairs on it). */
export function canonicalParameters(parameters: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export type TokenKind = 'agent' | 'operator';

/** A token as stored: its id and a SHA-256 of its secret (auth/tokens.ts makes and checks them). */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: TokenKind;
  /** For agent tokens: the platform the operator declares for the agent ('' = detect). */
  readonly platform: string;
  readonly secretHash: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number | undefined;
  readonly revokedAtMs: number | undefined;
  /** The agent this token enrolled, '' until its first enrollment. */
  readonly agentId: string;
}
