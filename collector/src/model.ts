// The collector's own view of what it stores: plain typed records, independent of the
// wire format. The gRPC and HTTP layers translate to and from these.

export type RunStatus = 'running' | 'completed' | 'failed' | 'lost' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'lost', 'cancelled'];

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
}

export interface SampleRecord {
  readonly id: string;
  readonly runId: string;
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: Direction;
  readonly value: number;
  readonly trials: readonly number[];
  readonly trialCount: number;
  readonly rsd: number;
  readonly stealFraction: number;
  readonly parameters: Readonly<Record<string, string>>;
  readonly primary: boolean;
  readonly clocksource: string;
  readonly durationSeconds: number;
  readonly finishedAtMs: number;
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

/** A group of runs is one platform and one label: "kvm", "kvm/virtio-scsi". */
export function groupKey(platform: string, label: string): string {
  return label === '' ? platform : `${platform}/${label}`;
}

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

/**
 * The hypervisor configuration a run was made under, as the lab (or run-guest.js) recorded it:
 * setting name to value (disk_bus, nic, cpu_model, …) and the host's versions.
 */
export interface RunConfigurationRecord {
  readonly runId: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly hostKernel: string;
  readonly qemuVersion: string;
  readonly libvirtVersion: string;
  /** kvm or tcg */
  readonly accelerator: string;
  readonly recordedAtMs: number;
}
