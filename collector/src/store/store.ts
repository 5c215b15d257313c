// One storage interface for every backend (embedded SQLite now, PostgreSQL for fleets).
// Results are append-only: a sample id is stored once, whatever the retries.
import type { AgentRecord, RunRecord, RunStatus, SampleRecord } from '../model';

export interface NewRun {
  readonly id: string;
  readonly agentId: string;
  readonly label: string;
  readonly profile: string;
  readonly agentVersion: string;
  readonly startedAtMs: number;
}

export interface RunFilter {
  readonly platform?: string;
  readonly label?: string;
  readonly hostname?: string;
  readonly statuses?: readonly RunStatus[];
  /** Newest first; at most this many. */
  readonly limit?: number;
}

export interface RunEnd {
  readonly status: RunStatus;
  readonly error: string;
  readonly endedAtMs: number;
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
  insertSamples(runId: string, samples: readonly SampleRecord[]): Promise<string[]>;
  endRun(runId: string, end: RunEnd): Promise<RunRecord | undefined>;
  recordHeartbeat(runId: string, atMs: number): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Ids of samples from other runs among `ids`, to refuse a sample id that belongs elsewhere. */
  sampleIdsOwnedElsewhere(runId: string, ids: readonly string[]): Promise<string[]>;
  getSamples(runIds: readonly string[]): Promise<SampleRecord[]>;
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
