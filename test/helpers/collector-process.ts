// A collector as a real child process (so it can be killed with SIGKILL), on a port chosen
// free by the kernel and kept across restarts, with its JSON log events collected.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { COLLECTOR_CLI } from './collector-harness';

/** Whether 127.0.0.1:port can be listened on now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port to start a collector on later (and keep across its restarts), with the next one free
 * too for its default net sink. Taken below the kernel's ephemeral range (32768 and up on
 * Linux): a port the kernel picked for us could be handed to an outgoing connection (a
 * collector's PostgreSQL pool, say) before the collector binds it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canListen(port)) && (await canListen(port + 1))) return port;
  }
  throw new Error('no free port pair found between 20000 and 32000');
}

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  /** Every stdout line as written, to check the lines themselves. */
  readonly lines: string[];
  /** Resolves when a log event matches. */
  waitForEvent(match: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startCollectorProcess(
  db: string,
  grpcPort: number,
  extraArgs: readonly string[] = [],
  options: { auth?: 'tokens' | 'none' } = {},
): Promise<CollectorProcess> {
  const auth = options.auth === 'tokens' ? [] : ['--insecure-no-auth'];
  const child = spawn(
    process.execPath,
    [COLLECTOR_CLI, 'serve', '--grpc', `127.0.0.1:${grpcPort}`, '--http', '127.0.0.1:0', '--db', db, ...auth, '--log-level', 'debug', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.resume();
  const proc: CollectorProcess = {
    child,
    events,
    lines,
    waitForEvent(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (found !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching collector log event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    kill(signal) {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
  // Generous: on a busy machine a cold start (Node, the store, migrations) can take long. A
  // collector that exits first (a port taken, a bad flag) fails the start at once, with its words.
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d));
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `the collector exited (${signal ?? code}) before it was ready: ${Buffer.concat(stderr).toString('utf8').slice(-2000)}${lines.slice(-5).join('\n')}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined);
  await Promise.race([proc.waitForEvent((e) => e['event'] === 'collector-ready', 60_000), exited]);
  return proc;
}
