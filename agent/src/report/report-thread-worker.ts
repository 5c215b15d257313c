// The body of the report thread: a run's heartbeats on a timer of its own and its samples in
// batches, over grpc-js, so both keep flowing while a benchmark kernel holds the main thread
// for seconds. One thread serves the agent process's runs, one after another. Started as its own file from the tsc build, or as the agent bundle itself
// (whose CLI skips main() in worker threads).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { HeartbeatRequest, Sample } from '@guestbench/proto';
import { CollectorClient, isCollectorError, type ClientTls } from './collector-client';
import { SampleBatcher, type Batch } from './sample-batcher';

export const REPORT_THREAD_MARK = 'guestbench-report-thread';

/** Heartbeats waiting for their answer at once, at most. */
const MAX_BEATS_IN_FLIGHT = 3;

/** A heartbeat without its guest time, which the thread adds as it sends. */
export type BeatContent = Omit<HeartbeatRequest, 'guestMonotonicMs'>;

export interface ReportThreadData {
  readonly kind: typeof REPORT_THREAD_MARK;
  /** Collector addresses, comma-separated, the one to use first first. */
  readonly addresses: string;
  readonly token?: string;
  readonly tls?: ClientTls;
  readonly intervalMs: number;
  readonly lingerMs: number;
  /** Guest time runs this much faster than the monotonic clock (1 except in clock tests). */
  readonly clockRate: number;
}

export type ToReportThread =
  /** What heartbeats carry from now on; null stops them (between runs). */
  | { readonly type: 'beat'; readonly beat: BeatContent | null }
  /** The run whose samples come next. */
  | { readonly type: 'run'; readonly runId: string }
  | { readonly type: 'interval'; readonly ms: number }
  | { readonly type: 'samples'; readonly samples: readonly Sample[] }
  | { readonly type: 'flush' }
  | { readonly type: 'stop' };

export type FromReportThread =
  /** A heartbeat's answer: 0 for OK, a gRPC code, or -1 when no answer came. */
  | { readonly type: 'beat'; readonly code: number }
  | { readonly type: 'acked'; readonly ids: readonly string[]; readonly queuedAtMs: number; readonly sentAtMs: number }
  | { readonly type: 'send-failed'; readonly ids: readonly string[]; readonly code: number | undefined; readonly message: string }
  /** The thread's calls moved to the next collector address. */
  | { readonly type: 'failover'; readonly from: string; readonly to: string; readonly reason: string }
  /** Every batch given before the last 'flush' has been answered. */
  | { readonly type: 'flushed' };

export function isReportThread(): boolean {
  return !isMainThread && (workerData as Partial<ReportThreadData> | null)?.kind === REPORT_THREAD_MARK;
}

function startReportThread(): void {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as ReportThreadData;
  const post = (m: FromReportThread): void => port.postMessage(m);
  // Buffers cross into a thread as plain Uint8Arrays; grpc-js wants Buffers.
  const tls: ClientTls | undefined = data.tls && {
    ca: Buffer.from(data.tls.ca),
    ...(data.tls.cert !== undefined && data.tls.key !== undefined ? { cert: Buffer.from(data.tls.cert), key: Buffer.from(data.tls.key) } : {}),
  };
  // One try per call (at each address): the next beat is the heartbeat's retry, and the main
  // thread decides when unacknowledged samples are sent again (they stay in its spool).
  const client = new CollectorClient(data.addresses, {
    token: data.token,
    tls,
    deadlineMs: 3000,
    retry: { initialDelayMs: 0, maxDelayMs: 0, attempts: 1 },
    onFailover: (e) => post({ type: 'failover', ...e }),
  });
  let beat: BeatContent | null = null;
  let runId = '';

  // The guest's monotonic clock in ms (CLOCK_MONOTONIC, as the main thread reads it).
  const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
  const clockStart = monotonicMs();
  const guestTime = (): number => clockStart + (monotonicMs() - clockStart) * data.clockRate;
  // A beat every interval, whether or not the last one was answered (a collector slow to
  // answer must still hear from a live run), with a few in flight at most; each may take two
  // intervals, at least a second, since a busy collector can be slow to answer.
  let intervalMs = data.intervalMs;
  let beatsInFlight = 0;
  let beatTimer: NodeJS.Timeout | undefined;
  const sendBeat = (): void => {
    if (beat === null || beatsInFlight >= MAX_BEATS_IN_FLIGHT) return;
    beatsInFlight++;
    client
      .heartbeat({ ...beat, guestMonotonicMs: guestTime() }, { attempts: 1, deadlineMs: Math.max(1000, 2 * intervalMs) })
      .then(
        () => post({ type: 'beat', code: 0 }),
        (err: unknown) => post({ type: 'beat', code: isCollectorError(err) ? (err.code ?? -1) : -1 }),
      )
      .finally(() => beatsInFlight--);
  };
  const beatEvery = (ms: number): void => {
    clearInterval(beatTimer);
    intervalMs = ms;
    beatTimer = setInterval(sendBeat, ms);
  };

  const batcher = new SampleBatcher({ lingerMs: data.lingerMs });
  let batchTimer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  const send = (batch: Batch): void => {
    const ids = batch.samples.map((s) => s.id);
    const sentAtMs = Date.now();
    const call = client.submitSamples({ runId, samples: batch.samples }).then(
      (res) => post({ type: 'acked', ids: res.ackedSampleIds, queuedAtMs: batch.queuedAtMs, sentAtMs }),
      (err: unknown) =>
        post({ type: 'send-failed', ids, code: isCollectorError(err) ? err.code : undefined, message: err instanceof Error ? err.message : String(err) }),
    );
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  };
  const sendDue = (): void => {
    batchTimer = undefined;
    if (batcher.size > 0) send(batcher.take());
  };

  port.on('message', (m: ToReportThread) => {
    if (m.type === 'beat') {
      // A run's first beat goes at once, and so does its last (when the run ends): the clock
      // check then spans the whole run, however short, not just the beats the timer sent.
      const first = beat === null;
      if (m.beat === null) sendBeat();
      beat = m.beat;
      if (first) sendBeat();
    } else if (m.type === 'interval') beatEvery(m.ms);
    else if (m.type === 'run') runId = m.runId;
    else if (m.type === 'samples') {
      batcher.add(m.samples, Date.now()).forEach(send);
      const due = batcher.dueAtMs();
      if (due !== undefined && batchTimer === undefined) batchTimer = setTimeout(sendDue, Math.max(0, due - Date.now()));
    } else if (m.type === 'flush') {
      clearTimeout(batchTimer);
      sendDue();
      void Promise.all([...inFlight]).then(() => post({ type: 'flushed' }));
    } else {
      clearInterval(beatTimer);
      clearTimeout(batchTimer);
      client.close();
      port.close();
    }
  });
  beatEvery(intervalMs);
}

if (isReportThread()) startReportThread();
