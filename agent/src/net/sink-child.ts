// Starts `guestbench-agent serve-net` as a child process on loopback, for a local `bench`
// that has no sink elsewhere. A child rather than a server inside the agent: the sink then
// has its own event loop and its own core, as iperf3's server does, instead of sharing the
// agent's single JavaScript thread with the sender it is measuring.
import { fork, type ChildProcess } from 'node:child_process';
import { parseHostPort, type HostPort } from '@guestbench/proto';
import type { ServeNetReady } from './serve-net';

export interface SinkChild {
  readonly address: HostPort;
  readonly pid: number;
  /** Stops the child and waits for it to exit. */
  close(): Promise<void>;
}

/** How long the child may take to start listening. @default 10000 */
export const CHILD_START_TIMEOUT_MS = 10_000;

/**
 * Forks `cliPath` (the agent's own entry: dist/cli/main.js or the bundle) as
 * `serve-net --listen 127.0.0.1:0` with an IPC channel, and resolves with the address it
 * reports. The child exits when the channel closes, even if this process is killed.
 */
export function startSinkChild(cliPath: string, host = '127.0.0.1'): Promise<SinkChild> {
  const child: ChildProcess = fork(cliPath, ['serve-net', '--listen', `${host}:0`], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<SinkChild>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the local network sink (${cliPath} serve-net) did not start within ${CHILD_START_TIMEOUT_MS} ms`));
    }, CHILD_START_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the local network sink (${cliPath} serve-net): ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the local network sink (${cliPath} serve-net) exited with ${signal ?? String(code)} before listening`));
    });
    child.once('message', (message: unknown) => {
      clearTimeout(timer);
      const listening = (message as Partial<ServeNetReady> | null)?.listening;
      const parsed = typeof listening === 'string' ? parseHostPort(listening) : undefined;
      const address = parsed?.ok === true ? parsed.value : undefined;
      if (address === undefined || child.pid === undefined) {
        child.kill();
        reject(new Error(`the local network sink sent an unexpected first message: ${JSON.stringify(message)}`));
        return;
      }
      resolve({
        address,
        pid: child.pid,
        async close() {
          if (child.exitCode === null && child.signalCode === null) {
            if (child.connected) child.disconnect();
            else child.kill();
            await exited;
          }
        },
      });
    });
  });
}
