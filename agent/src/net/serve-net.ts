// `guestbench-agent serve-net`: the sink/echo endpoint as a program of its own, for another
// host or guest, and the child process the agent starts when it needs a local sink.
import { formatHostPort, startSinkServer, type HostPort } from '@guestbench/proto';

/** What serve-net sends its parent over IPC once it listens. */
export interface ServeNetReady {
  readonly listening: string;
}

export interface ServeNetOptions {
  readonly listen: HostPort;
  readonly json: boolean;
  /** Stops the server. */
  readonly signal: AbortSignal;
  readonly write?: (line: string) => void;
}

/**
 * Serves until `signal` aborts, or until the parent goes away when started with an IPC
 * channel (as startSinkChild does), so a killed agent never leaves its sink behind.
 */
export async function serveNet(options: ServeNetOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const server = await startSinkServer(options.listen);
  const listening = formatHostPort(server.address);
  write(options.json ? `${JSON.stringify({ listening })}\n` : `guestbench-agent serve-net: listening on ${listening} (sink/echo protocol)\n`);
  const parentGone = new Promise<void>((resolve) => {
    if (process.send === undefined) return;
    process.send({ listening } satisfies ServeNetReady);
    process.once('disconnect', resolve);
  });
  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([parentGone, stopped]);
  await server.close();
  if (process.connected) process.disconnect();
}
