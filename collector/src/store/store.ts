// One storage interface for every backend (embedded SQLite now, PostgreSQL for fleets).
// Results are append-only: a sample id is stored once, whatever the retries.
import type { TokenRecord } from '../auth/tokens';
import type { AgentRecord, JobRecord, JobView, LogRecord, RunConfigurationRecord, RunRecord, RunStatus, SampleRecord } from '../model';

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
  readonly maxRsd: number;
  readonly maxSteal: number;
}

/** The finished runs of one group, newest first: cheap to list, for the comparison. */
export interface GroupRuns {
  readonly platform: string;
  readonly label: string;
  readonly runIds: readonly string[];
  readonly hostnames: readonly string[];
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
  endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined>;
  recordHeartbeat(runId: string, atMs: number): Promise<void>;
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
  createJob(job: JobRecord, agentIds: readonly string[]): Promise<void>;
  /** The oldest job assigned to this agent and not yet handed to it, now marked taken. */
  takePendingJob(agentId: string, nowMs: number): Promise<JobRecord | undefined>;
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
   * Binds an agent token to the agent that first enrolls with it, atomically; returns the
   * agent id it is bound to (this one, or the one bound before).
   */
  bindToken(tokenId: string, agentId: string): Promise<string>;
  /** Stores a run's configuration, replacing an earlier one of the same run. */
  putRunConfiguration(config: RunConfigurationRecord): Promise<void>;
  /** The configurations of these runs (runs without one are left out). */
  getRunConfigurations(runIds: readonly string[]): Promise<RunConfigurationRecord[]>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError;
}
