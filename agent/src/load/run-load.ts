// Runs a load in this thread or spread over worker threads, and reports it in ab's terms.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { runLoadThread, type ThreadResult } from './engine';
import type { LoadOptions } from './options';
import { reportFromTally, type LoadReport } from './report';
import { Tally } from './tally';
import { LOAD_WORKER_MARK, type FromWorker, type LoadWorkerData, type ToWorker } from './worker-entry';

export interface RunLoadExtras {
  readonly signal?: AbortSignal;
  /**
   * The script worker threads run. Default: worker-entry.js beside this file in the tsc
   * build, or the agent bundle itself.
   */
  readonly workerScript?: string;
}

/** Where the worker thread code is, for the tsc build and for the single-file bundle. */
export function defaultWorkerScript(): string {
  const beside = path.join(__dirname, 'worker-entry.js');
  if (path.basename(__filename) === 'run-load.js' && existsSync(beside)) return beside;
  // In the bundle every module shares the bundle's __filename; its CLI runs no main() in workers.
  if (__filename.endsWith('.js')) return __filename;
  throw new Error('worker threads need the built agent (npm run build) or its bundle; pass workerScript');
}

/** Splits the load across `threads`: connections, requests and rate in proportion. */
export function shareOf(options: LoadOptions, index: number): LoadWorkerData['input'] {
  const t = options.threads;
  const connections = (k: number): number => Math.floor(options.concurrency / t) + (k < options.concurrency % t ? 1 : 0);
  const c = connections(index);
  let requests: number | undefined;
  if (options.requests !== undefined) {
    // Requests in proportion to connections, rounded so that the shares add up exactly.
    let before = 0;
    for (let k = 0; k < index; k++) before += connections(k);
    const upTo = (n: number): number => Math.floor(((options.requests as number) * n) / options.concurrency);
    requests = upTo(before + c) - upTo(before);
  }
  return {
    url: options.url.href,
    method: options.method,
    concurrency: c,
    requests,
    durationSeconds: options.durationSeconds,
    keepAlive: options.keepAlive,
    pipelining: options.pipelining,
    rate: options.rate === undefined ? undefined : (options.rate * c) / options.concurrency,
    timeoutSeconds: options.timeoutSeconds,
    transport: options.transport,
    headers: { ...options.headers },
  };
}

async function runInThreads(options: LoadOptions, extras: RunLoadExtras): Promise<ThreadResult[]> {
  const script = extras.workerScript ?? defaultWorkerScript();
  const workers = Array.from({ length: options.threads }, (_, i) => {
    const workerData: LoadWorkerData = { kind: LOAD_WORKER_MARK, input: shareOf(options, i) };
    return new Worker(script, { workerData, argv: [], stdout: false, stderr: false });
  });
  const send = (w: Worker, m: ToWorker): void => w.postMessage(m);
  const onAbort = (): void => workers.forEach((w) => send(w, { type: 'stop' }));
  extras.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Every thread first says it is ready, so that all start together.
    const results = workers.map(
      (w) =>
        new Promise<{ ready: Promise<void>; done: Promise<ThreadResult> }>((outer) => {
          let readyResolve!: () => void;
          const ready = new Promise<void>((r) => (readyResolve = r));
          const done = new Promise<ThreadResult>((resolve, reject) => {
            w.on('message', (m: FromWorker) => {
              if (m.type === 'ready') readyResolve();
              else if (m.type === 'done') resolve(m.result);
              else reject(new Error(`load worker: ${m.message}`));
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`load worker exited with code ${code} before reporting`)));
          });
          // Fail "ready" too when the worker dies first, so no one waits forever.
          outer({ ready: Promise.race([ready, done.then(() => undefined)]), done });
        }),
    );
    const handles = await Promise.all(results);
    await Promise.all(handles.map((h) => h.ready));
    workers.forEach((w) => send(w, { type: 'go' }));
    if (extras.signal?.aborted === true) onAbort();
    return await Promise.all(handles.map((h) => h.done));
  } finally {
    extras.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Runs the load described by `options` and reports it. */
export async function runLoad(options: LoadOptions, extras: RunLoadExtras = {}): Promise<LoadReport> {
  const results = options.threads === 1 ? [await runLoadThread(options, extras.signal)] : await runInThreads(options, extras);
  const tally = new Tally();
  for (const r of results) tally.merge(r.state);
  const elapsed = Math.max(...results.map((r) => r.elapsedSeconds));
  return reportFromTally(options.url, options.concurrency, elapsed, tally.state());
}
