// Starts the agent's web server as a child process (`guestbench-agent serve-web`), so that
// server and load generator run on separate CPUs as with a real server, and a crash of one
// cannot take the other along.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The file that runs the agent CLI: $GUESTBENCH_AGENT_ENTRY, else cli/main.js of the tsc
 * build, else the single-file bundle this code is part of.
 */
export function agentEntry(): string {
  const fromEnv = process.env['GUESTBENCH_AGENT_ENTRY'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const built = path.resolve(__dirname, '../cli/main.js');
  if (path.basename(__filename) === 'server-process.js' && existsSync(built)) return built;
  // In the bundle every module shares the bundle's __filename.
  if (__filename.endsWith('.js') && path.basename(__filename) !== 'server-process.js') return __filename;
  throw new Error('cannot find the agent to start its web server: build it (npm run build) or set GUESTBENCH_AGENT_ENTRY');
}

export interface ServerProcess {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  readonly largeBytes: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** Give up when the server is not listening after this long. @default 20000 */
  readonly readyTimeoutMs?: number;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const args = [
    agentEntry(),
    'serve-web',
    '--listen',
    `${options.host ?? '127.0.0.1'}:0`,
    '--large-kib',
    String(Math.ceil(options.largeBytes / 1024)),
    '--json',
  ];
  // The IPC channel is only there to close when this process dies, which stops the server.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`web server did not start: ${why}${stderr.trim() === '' ? '' : ` (${stderr.trim().split('\n').pop() ?? ''})`}`));
    };
    const timer = setTimeout(() => fail(`not listening after ${options.readyTimeoutMs ?? 20000} ms`), options.readyTimeoutMs ?? 20000);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? String(code)}`));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      try {
        const { url } = JSON.parse(out.slice(0, nl)) as { url: string };
        resolve({ url, pid: child.pid as number, stop: () => stopChild(child) });
      } catch {
        fail(`unexpected first line ${JSON.stringify(out.slice(0, nl))}`);
      }
    });
  });
}
