// The main thread's side of the report thread (report-thread-worker.ts): it starts the
// thread for a run, hands it the run's heartbeat and finished samples, and hears back which
// samples the collector acknowledged.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Sample } from '@guestbench/proto';
import type { CollectorClient } from './collector-client';
import { REPORT_THREAD_MARK, type BeatContent, type FromReportThread, type ReportThreadData, type ToReportThread } from './report-thread-worker';

export type { BeatContent } from './report-thread-worker';

/** Where the thread's code is: the compiled file beside this one, or the agent bundle itself. */
export function defaultReportThreadScript(): string {
  const beside = path.join(__dirname, 'report-thread-worker.js');
  if (path.basename(__filename) === 'report-thread.js' && existsSync(beside)) return beside;
  // In the bundle every module shares the bundle's __filename; its CLI runs no main() in workers.
  if (__filename.endsWith('.js')) return __filename;
  throw new Error('the report thread needs the built agent (npm run build) or its bundle; pass workerScript');
}

/**
 * TEST ONLY: GUESTBENCH_TEST_CLOCK_RATE=1.02 makes the guest time the heartbeats report run
 * 2 % fast, so a test can check the collector's clock-drift flag with a real agent. It changes
 * nothing the benchmarks measure. Unset (or anything but a number from 0.5 to 2): 1.
 */
export function testClockRate(env: NodeJS.ProcessEnv): number {
  const v = Number(env['GUESTBENCH_TEST_CLOCK_RATE']);
  return env['GUESTBENCH_TEST_CLOCK_RATE'] !== undefined && v >= 0.5 && v <= 2 ? v : 1;
}

export interface ReportThreadOptions {
  /** Its addresses (from the one in use now), token and TLS are the thread's too. */
  readonly client: CollectorClient;
  /** Until setInterval() says otherwise. @default 5000 */
  readonly intervalMs?: number;
  /** How long a finished benchmark's samples wait for others to join their call (≤ 1000). @default 500 */
  readonly lingerMs?: number;
  /** @default defaultReportThreadScript() */
  readonly workerScript?: string;
  /** The thread died (no more heartbeats; samples go from the main thread after the run). @default ignored */
  readonly onError?: (err: Error) => void;
}

/** One run's side of the thread: what becomes of the samples handed over. */
export interface ReportThreadRun {
  readonly runId: string;
  /** The collector acknowledged these samples. */
  readonly onAcked: (ids: readonly string[]) => void;
  /** A batch was not acknowledged (they stay spooled); `code` is the gRPC status, if any. */
  readonly onSendFailed: (ids: readonly string[], code: number | undefined, message: string) => void;
}

/**
 * Started once per agent process, early: loading grpc-js in a thread takes seconds on a busy
 * or emulated machine, and a run's first heartbeat must not wait for it.
 */
export class ReportThread {
  private readonly worker: Worker;
  private readonly flushWaiters: (() => void)[] = [];
  private exited = false;
  private run: ReportThreadRun | undefined;
  /** The last heartbeat's answer: 0 for OK, a gRPC code, -1 when none came. */
  lastBeatCode: number | undefined;
  /** Why the thread died, if it did. */
  lastError: Error | undefined;

  constructor(options: ReportThreadOptions) {
    const { client } = options;
    const workerData: ReportThreadData = {
      kind: REPORT_THREAD_MARK,
      addresses: client.addressesFromCurrent,
      token: client.token,
      tls: client.tls,
      intervalMs: options.intervalMs ?? 5000,
      lingerMs: options.lingerMs ?? 500,
      clockRate: testClockRate(process.env),
    };
    this.worker = new Worker(options.workerScript ?? defaultReportThreadScript(), { workerData, argv: [], stdout: false, stderr: false });
    this.worker.on('message', (m: FromReportThread) => {
      if (m.type === 'beat') this.lastBeatCode = m.code;
      else if (m.type === 'acked') this.run?.onAcked(m.ids);
      else if (m.type === 'send-failed') this.run?.onSendFailed(m.ids, m.code, m.message);
      else if (m.type === 'failover') client.tellFailover(m);
      else this.flushWaiters.splice(0).forEach((w) => w());
    });
    this.worker.on('error', (err) => {
      this.lastError = err;
      options.onError?.(err);
    });
    this.worker.once('exit', () => {
      this.exited = true;
      this.flushWaiters.splice(0).forEach((w) => w());
    });
    this.worker.unref();
  }

  /** Samples handed over from now on belong to this run (heartbeats start with updateBeat). */
  beginRun(run: ReportThreadRun): void {
    this.run = run;
    this.post({ type: 'run', runId: run.runId });
  }

  /** Sends what waits, stops the run's heartbeats, and forgets the run once every answer is in. */
  async endRun(): Promise<void> {
    this.post({ type: 'beat', beat: null });
    await this.flush();
    this.run = undefined;
  }

  /** Whether the thread died. */
  get dead(): boolean {
    return this.exited;
  }

  private post(message: ToReportThread): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  /** Heartbeats carry this from the next beat on (e.g. a new current benchmark); the first call starts them. */
  updateBeat(beat: BeatContent): void {
    this.post({ type: 'beat', beat });
  }

  /** Heartbeats from now on every `ms` (the collector's interval, once it has told it). */
  setInterval(ms: number): void {
    this.post({ type: 'interval', ms });
  }

  /** Sends these (already spooled) samples in the next batch. */
  send(samples: readonly Sample[]): void {
    if (samples.length > 0) this.post({ type: 'samples', samples });
  }

  /** Sends what waits now; resolves once every batch given so far has its answer. */
  flush(): Promise<void> {
    if (this.exited) return Promise.resolve();
    // The thread is unref'd (it must not keep a finished agent alive); while its answer is
    // awaited it must, or the process would end here with nothing else to wait for.
    this.worker.ref();
    return new Promise((resolve) => {
      this.flushWaiters.push(() => {
        this.worker.unref();
        resolve();
      });
      this.post({ type: 'flush' });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.post({ type: 'stop' });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 1000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
