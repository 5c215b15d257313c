// The body of a load worker thread: it runs its share of the connections when told to go
// and posts its tally back. Started as its own file from the tsc build, or as the agent
// bundle itself (whose CLI skips main() in worker threads).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runLoadThread } from './engine';
import { parseLoadOptions, type LoadInput } from './options';

export const LOAD_WORKER_MARK = 'guestbench-load-worker';

export interface LoadWorkerData {
  readonly kind: typeof LOAD_WORKER_MARK;
  /** This thread's share, with the URL as a string (URL objects do not cross threads). */
  readonly input: LoadInput & { readonly url: string };
}

export type ToWorker = { readonly type: 'go' } | { readonly type: 'stop' };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly result: import('./engine').ThreadResult }
  | { readonly type: 'error'; readonly message: string };

export function isLoadWorker(): boolean {
  return !isMainThread && (workerData as Partial<LoadWorkerData> | null)?.kind === LOAD_WORKER_MARK;
}

function startLoadWorker(): void {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as LoadWorkerData;
  const controller = new AbortController();
  const post = (message: FromWorker): void => port.postMessage(message);
  let options;
  try {
    options = parseLoadOptions({ ...data.input, threads: 1 });
  } catch (err: unknown) {
    post({ type: 'error', message: (err as Error).message });
    return;
  }
  const ready = options;
  port.on('message', (message: ToWorker) => {
    if (message.type === 'stop') controller.abort();
    else if (message.type === 'go') {
      runLoadThread(ready, controller.signal).then(
        (result) => {
          post({ type: 'done', result });
          port.close();
        },
        (err: unknown) => post({ type: 'error', message: (err as Error).message }),
      );
    }
  });
  post({ type: 'ready' });
}

if (isLoadWorker()) startLoadWorker();
