// One storage interface for every backend (embedded SQLite now, PostgreSQL for fleets).
// Results are append-only: a sample id is stored once, whatever the retries.
import type {
  AgentRecord,
  ClockCheck,
  FailedBenchmarkRecord,
  JobRecord,
  JobView,
  LogRecord,
  RunConfigurationRecord,
  RunRecord,
  RunStatus,
  SampleRecord,
  TokenRecord,
} from '../model';

export interface NewRun {
  readonly id: string;
  readonly agentId: string;
  readonly label: string;
  readonly profile: string;
  readonly agentVersion: string;
  readonly startedAtMs: number;
  /** '' for a run started by hand. */
  readonly jobId: string;
}

export interface RunFilter {
  readonly platform?: string;
  readonly label?: string;
  readonly hostname?: string;
  readonly statuses?: readonly RunStatus[];
  /** Only runs started at or after this time (unix ms). */
  readonly since?: number;
  /** Only runs started at or before this time (unix ms). */
  readonly until?: number;
  /** Newest first; at most this many. */
  readonly limit?: number;
}

export interface RunEnd {
  readonly status: RunStatus;
  readonly error: string;
  readonly endedAtMs: number;
  /** What failed in a partial run. @default [] */
  readonly failedBenchmarks?: readonly FailedBenchmarkRecord[];
}

/**
 * Sufficient statistics of one comparison cell (a group's samples of one benchmark metric
 * with equal parameters and agent major version), from finished runs only.
 */
export interface CellAggregate {
  readonly platform: string;
  readonly label: string;
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: 'higher' | 'lower';
  readonly primary: boolean;
  /** Canonical JSON of the parameters. */
  readonly parameters: string;
  readonly agentMajor: string;
  /** Distinct runs. */
  readonly runs: number;
  /** Over the samples' values (one per run): count, Σ ln v, Σ (ln v)², Σ v, min v. */
  readonly valueN: number;
  readonly valueLogSum: number;
  readonly valueLogSumSq: number;
  readonly valueSum: number;
  readonly valueMin: number;
  /** The same over every trial of those samples. */
  readonly trialN: number;
  readonly trialLogSum: number;
  readonly trialLogSumSq: number;
  readonly trialSum: number;
  readonly trialMin: number;
  /** Samples the agent flagged as measuring its harness rather than the platform (cells.ts DOUBT_FLAGS). */
  readonly doubtN: number;
  readonly maxRsd: number;
  readonly maxSteal: number;
}

/** The finished runs of one group, newest first: cheap to list, for the comparison. */
export interface GroupRuns {
  readonly platform: string;
  readonly label: string;
  readonly runIds: readonly string[];
  readonly hostnames: readonly string[];
  /** Each run's provenance, in the order of runIds. */
  readonly runs: readonly RunProvenance[];
}

/** What the comparison shows beside a group about each of its runs. */
export interface RunProvenance {
  readonly id: string;
  readonly hostname: string;
  readonly declaredPlatform: string;
  /** What the agent's detection said, even when the platform was declared. */
  readonly detectedPlatform: string;
  readonly clock: ClockCheck;
}

/** Runs the comparison counts: finished, optionally narrowed by host and start time. */
export interface AggregateFilter {
  readonly hostname?: string;
  readonly since?: number;
  readonly until?: number;
}

export interface InsertResult {
  /** Every id of the call, now stored (new or from an earlier delivery). */
  readonly acked: string[];
  /** How many of them were new. */
  readonly inserted: number;
}

/** One call's samples, for a group commit (see Store.insertSampleBatches). */
export interface SampleBatch {
  readonly runId: string;
  readonly samples: readonly SampleRecord[];
}

/** Where an agent is connected and what it is doing, as its collector last wrote it. */
export interface PresenceRecord {
  readonly agentId: string;
  /** The collector that heard from it last. */
  readonly collectorId: string;
  readonly platform: string;
  /** The run it is busy with, '' when idle. */
  readonly runId: string;
  /** Whether it waits for jobs (daemon mode). */
  readonly takesJobs: boolean;
  readonly lastSeenMs: number;
}

/** Connected agents counted by collector, platform and whether they are busy (for fleet totals). */
export interface PresenceCount {
  readonly collectorId: string;
  readonly platform: string;
  readonly busy: boolean;
  readonly takesJobs: boolean;
  readonly agents: number;
}

/** Told of the agents that were just given a job, by whichever collector created it. */
export type JobAssignedListener = (agentIds: readonly string[]) => void;

export interface Store {
  upsertAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  /** Creates the run from its agent's record; a retried start of the same id returns the stored run. */
  startRun(run: NewRun): Promise<RunRecord>;
  /**
   * Commits the samples in one transaction and returns every id that is now stored,
   * including ids that were stored before (a resend is acknowledged, not duplicated).
   */
  insertSamples(runId: string, samples: readonly SampleRecord[]): Promise<InsertResult>;
  /**
   * Group commit: the samples of several calls in one transaction. One result per batch, in
   * order, each what insertSamples would have answered had the batches come one after the
   * other (an id in two batches is inserted by the first and acknowledged by both). Refuses
   * all of them, storing nothing, when a batch names a run that was never started; all or
   * nothing whenever it throws.
   */
  insertSampleBatches(batches: readonly SampleBatch[]): Promise<InsertResult[]>;
  endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined>;
  /**
   * Records a heartbeat at the collector's `atMs`; with the guest's monotonic time, also the
   * clock check's pair (the first one kept, the latest replaced; a guest time going backwards
   * is ignored).
   */
  recordHeartbeat(runId: string, atMs: number, guestMonotonicMs?: number): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Ids of samples from other runs among `ids`, to refuse a sample id that belongs elsewhere. */
  sampleIdsOwnedElsewhere(runId: string, ids: readonly string[]): Promise<string[]>;
  getSamples(runIds: readonly string[]): Promise<SampleRecord[]>;
  /** Comparison cells of every group over finished runs (see CellAggregate). */
  aggregateCells(filter: AggregateFilter): Promise<CellAggregate[]>;
  /** Finished runs by group, newest first. */
  groupRuns(filter: AggregateFilter): Promise<GroupRuns[]>;
  /** How many runs there are in each status (for metrics). */
  countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>>;
  /** Marks running runs whose last heartbeat is older than `cutoffMs` as lost; returns them. */
  markLostRuns(cutoffMs: number, nowMs: number): Promise<RunRecord[]>;
  /** Creates the job and its assignments in one transaction, then tells every watcher (see watchJobAssignments). */
  createJob(job: JobRecord, agentIds: readonly string[]): Promise<void>;
  /**
   * The oldest job assigned to this agent and not yet handed to it, now marked taken: one
   * atomic update, so an assignment is taken once whichever collectors ask at the same time.
   * A job the agent already has a run of is never handed out again. With `retakeBeforeMs`,
   * an assignment taken before that time of which no run exists counts as not handed over
   * (its collector died with the answer on the way) and is taken again.
   */
  takePendingJob(agentId: string, nowMs: number, retakeBeforeMs?: number): Promise<JobRecord | undefined>;
  /**
   * takePendingJob for many agents in one go (those woken by a new job): for each agent the
   * oldest assignment not yet taken and never started, now marked taken, each taken once
   * whichever collectors ask at the same time. Agents with none are absent from the answer.
   */
  takePendingJobs(agentIds: readonly string[], nowMs: number): Promise<Map<string, JobRecord>>;
  /**
   * Gives a taken assignment back (its WaitForJob call ended before the job reached the agent).
   * With `takenAtMs`, only the take made at that time: one retaken since is not undone.
   */
  releaseJob(jobId: string, agentId: string, takenAtMs?: number): Promise<void>;
  /** Among `agentIds`, those with an assignment not yet taken. */
  agentsWithPendingJobs(agentIds: readonly string[]): Promise<string[]>;
  /**
   * Calls `listener` with the agents of every job created from now on, by any collector
   * sharing this store where the backend can tell (PostgreSQL LISTEN/NOTIFY), else by this
   * process. Resolves to a function that stops watching.
   */
  watchJobAssignments(listener: JobAssignedListener): Promise<() => Promise<void>>;
  /** Writes (replaces) an agent's presence. */
  recordPresence(presence: PresenceRecord): Promise<void>;
  /** Agents heard of at or after `sinceMs`, by any collector, ordered by agent id. */
  listPresence(sinceMs: number): Promise<PresenceRecord[]>;
  /** The same, counted by collector, platform, busy and daemon mode. */
  countPresence(sinceMs: number): Promise<PresenceCount[]>;
  getJob(id: string): Promise<JobView | undefined>;
  listJobs(limit: number): Promise<JobView[]>;
  insertLogs(lines: readonly LogRecord[]): Promise<number>;
  /** A run's forwarded log lines in order. */
  getLogs(runId: string, limit: number): Promise<LogRecord[]>;
  createToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes the tokens with this id or name; returns them. */
  revokeTokens(idOrName: string, nowMs: number): Promise<TokenRecord[]>;
  /**
   * Binds an agent token to the agent that first enrolls with it, atomically (across
   * collectors sharing one database too): an agent id belongs to at most one token that is not
   * revoked, and a token to one agent id. Changes nothing unless the outcome is 'bound'.
   */
  bindToken(tokenId: string, agentId: string): Promise<TokenBinding>;
  /**
   * The operator's re-binding: binds the active agent token `idOrName` to `agentId` ('' leaves
   * it unbound, to be bound by its next enrollment), unbinding any other token that held the id.
   */
  rebindToken(idOrName: string, agentId: string): Promise<Rebinding>;
  /** Stores a run's configuration, replacing an earlier one of the same run. */
  putRunConfiguration(config: RunConfigurationRecord): Promise<void>;
  /** The configurations of these runs (runs without one are left out). */
  getRunConfigurations(runIds: readonly string[]): Promise<RunConfigurationRecord[]>;
  close(): Promise<void>;
}

/** What binding a token to an agent id did. */
export type TokenBinding =
  /** The token is now (or already was) bound to this agent id. */
  | { readonly outcome: 'bound' }
  /** The token was bound to another agent id before. */
  | { readonly outcome: 'token-bound-elsewhere'; readonly agentId: string }
  /** Another active token holds this agent id. */
  | { readonly outcome: 'agent-taken'; readonly tokenId: string };

export type Rebinding =
  | { readonly ok: true; readonly token: TokenRecord; /** Tokens that held the agent id before and now hold none. */ readonly unbound: readonly TokenRecord[] }
  | { readonly ok: false; readonly error: string };

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError;
}
