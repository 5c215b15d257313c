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

/** What an agent says of the machine it runs on: what it has, and the evidence of its platform. */
export interface MachineFacts {
  readonly inventory: InventoryRecord;
  readonly evidence: readonly EvidenceRecord[];
}

export interface AgentRecord extends MachineFacts {
  readonly id: string;
  readonly hostname: string;
  readonly declaredPlatform: string;
  readonly detectedPlatform: string;
  /** The platform its runs are filed under: the declared one when given, else the detected one. */
  readonly platform: string;
  readonly agentVersion: string;
  readonly enrolledAtMs: number;
}

export interface RunRecord extends MachineFacts {
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
  readonly lastHeartbeatMs: number;
  /** The job this run answers; '' for a run started by hand. */
  readonly jobId: string;
  /** The benchmarks that failed in a partial (or failed) run, and why; empty otherwise. */
  readonly failedBenchmarks: readonly FailedBenchmarkRecord[];
  /** The guest's clock against the collector's over the run's heartbeats (see clockCheck). */
  readonly clock: ClockCheck;
}

/**
 * The guest's monotonic clock against the collector's, from the first and the latest
 * heartbeat that carried guest time. A benchmark timed with a clock that runs fast or slow
 * is wrong by the same factor.
 */
export interface ClockCheck {
  /** How far the guest's clock advanced between the two heartbeats (ms); 0 with fewer than two. */
  readonly guestSpanMs: number;
  /** How far the collector's advanced (ms). */
  readonly hostSpanMs: number;
  /** guestSpan / hostSpan − 1; undefined without two heartbeats a second apart. */
  readonly rateDifference: number | undefined;
  /** The rate difference exceeds CLOCK_DRIFT_LIMIT and the gap exceeds CLOCK_GAP_RESOLUTION_MS. */
  readonly drift: boolean;
}

/** A guest clock running more than 0.5 % fast or slow flags its run `clock-drift`. */
export const CLOCK_DRIFT_LIMIT = 0.005;
/**
 * What one heartbeat's transit can blur (ms): a gap below this between the two clocks is not
 * evidence of drift, so a short run is never flagged on network jitter alone.
 */
export const CLOCK_GAP_RESOLUTION_MS = 50;

export function clockCheck(guestSpanMs: number, hostSpanMs: number): ClockCheck {
  if (!(hostSpanMs >= 1000) || !(guestSpanMs > 0))
    return { guestSpanMs: Math.max(0, guestSpanMs), hostSpanMs: Math.max(0, hostSpanMs), rateDifference: undefined, drift: false };
  const rateDifference = guestSpanMs / hostSpanMs - 1;
  const drift = Math.abs(rateDifference) > CLOCK_DRIFT_LIMIT && Math.abs(guestSpanMs - hostSpanMs) > CLOCK_GAP_RESOLUTION_MS;
  return { guestSpanMs, hostSpanMs, rateDifference, drift };
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
