// Starts a real collector (gRPC + HTTP on 127.0.0.1:0, a real SQLite file in a temp folder)
// and captures its JSON log lines, for integration tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startCollector, type RunningCollector } from '@guestbench/collector';

export interface Harness {
  readonly collector: RunningCollector;
  readonly dir: string;
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** @default '127.0.0.1:0' */
  readonly grpcAddress?: string;
  readonly heartbeatIntervalMs?: number;
  readonly lostAfterMs?: number;
  /** @default 'none' */
  readonly auth?: 'tokens' | 'none';
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  readonly connectionIdleMs?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-it-'));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const collector = await startCollector({
    grpcAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    store: { sqliteFile: path.join(dir, 'guestbench.db') },
    logger,
    auth: 'none',
    ...options,
  });
  return {
    collector,
    dir,
    logs,
    async close() {
      await collector.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const AGENT_CLI = path.resolve(__dirname, '..', '..', 'agent', 'dist', 'cli', 'main.js');
export const COLLECTOR_CLI = path.resolve(__dirname, '..', '..', 'collector', 'dist', 'cli', 'main.js');

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a built CLI to its end and collects its output. */
export function runCli(cli: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm test does)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
