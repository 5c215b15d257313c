// Runs a helper program (dmesg, systemd-detect-virt, vmware-rpctool, xenstore-read) so that it
// can never stall the agent: each run has a deadline, and at the deadline its whole process group
// is stopped, children included, even when it ignores SIGTERM.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** How a helper ended. `stdout`/`stderr` hold what it printed, bounded. */
export type ProcessResult =
  | { readonly kind: 'not-found'; readonly command: string }
  /** The deadline had passed before the run, so it was not started. */
  | { readonly kind: 'not-started'; readonly command: string }
  | { readonly kind: 'failed-to-start'; readonly command: string; readonly message: string }
  | {
      readonly kind: 'exited' | 'timed-out';
      readonly command: string;
      /** The exit status, or null when a signal ended it. */
      readonly exitCode: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly stdout: string;
      readonly stderr: string;
    };

export interface RunProcessOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** When the run is stopped; a deadline already past stops it at once. */
  readonly deadline: Deadline;
  /**
   * Time between SIGTERM and SIGKILL to the process group at the deadline.
   * @default 300
   */
  readonly graceMs?: number;
  /**
   * Output kept per stream; the rest is read and dropped.
   * @default 4 MiB
   */
  readonly maxOutputBytes?: number;
}

/** A point in time shared by several runs, so that together they take no longer than a budget. */
export class Deadline {
  readonly #at: number;
  constructor(readonly budgetMs: number) {
    this.#at = Date.now() + budgetMs;
  }
  /** Milliseconds left, 0 when spent. */
  remainingMs(): number {
    return Math.max(0, this.#at - Date.now());
  }
}

/** Folders searched after PATH: where distributions install the tools, for a minimal PATH. */
export const SYSTEM_BIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Absolute path of `command`: itself when absolute, else the first executable on `pathVariable`,
 * then in `fallbackDirs`; undefined when there is none.
 */
export async function findExecutable(command: string, pathVariable: string | undefined, fallbackDirs: readonly string[] = []): Promise<string | undefined> {
  if (isAbsolute(command)) return (await isExecutable(command)) ? command : undefined;
  for (const dir of [...(pathVariable ?? '').split(delimiter), ...fallbackDirs]) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the executable `file` with `args` in a process group of its own. At the deadline the
 * group gets SIGTERM and, `graceMs` later, SIGKILL, so a helper that ignores SIGTERM or left a
 * child holding its output does not outlive it. Never rejects.
 */
export function runProcess(file: string, args: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  const graceMs = options.graceMs ?? 300;
  const maxBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
  if (options.deadline.remainingMs() === 0) return Promise.resolve({ kind: 'not-started', command: file });
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(file, [...args], {
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so that one kill reaches every process it started.
        detached: true,
        windowsHide: true,
      });
    } catch (err) {
      resolve({ kind: 'failed-to-start', command: file, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    const out = new BoundedText(maxBytes);
    const err = new BoundedText(maxBytes);
    child.stdout.on('data', (chunk: Buffer) => out.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.add(chunk));

    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (result: ProcessResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      clearTimeout(backstop);
      resolve(result);
    };
    let killTimer: NodeJS.Timeout | undefined;
    let backstop: NodeJS.Timeout | undefined;
    const termTimer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      // A process that left the group (setsid) may still hold the pipes; stop waiting for it.
      backstop = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ kind: 'timed-out', command: file, exitCode: exit?.code ?? null, signal: exit?.signal ?? null, stdout: out.text(), stderr: err.text() });
      }, graceMs + 1000);
    }, options.deadline.remainingMs());

    child.on('error', (e: NodeJS.ErrnoException) => {
      // Spawn failed (EACCES, ENOENT between lookup and start): there is no process to wait for.
      if (child.pid === undefined) finish({ kind: 'failed-to-start', command: file, message: e.code ?? e.message });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      finish({
        kind: timedOut ? 'timed-out' : 'exited',
        command: file,
        exitCode: exit?.code ?? code,
        signal: exit?.signal ?? signal,
        stdout: out.text(),
        stderr: err.text(),
      });
    });
  });
}

/** The first line of a helper's stderr, bounded: what a person needs to see why it failed. */
export function firstLine(text: string, maxLength = 160): string {
  const line = (text.trim().split('\n')[0] ?? '').trim();
  return line.length <= maxLength ? line : `${line.slice(0, maxLength - 1)}…`;
}

/** One line on why a run gave no usable output, e.g. `exit 1: dmesg: read kernel buffer failed`. */
export function describeFailure(result: ProcessResult, budgetMs?: number): string {
  switch (result.kind) {
    case 'not-found':
      return `${result.command} not found`;
    case 'failed-to-start':
      return `could not start: ${result.message}`;
    case 'not-started':
      return budgetMs === undefined ? 'not run: no time left' : `not run: budget of ${budgetMs} ms spent`;
    case 'timed-out':
      return budgetMs === undefined ? 'timed out, process group killed' : `timed out (budget ${budgetMs} ms), process group killed`;
    case 'exited': {
      const how = result.signal !== null ? `killed by ${result.signal}` : `exit ${result.exitCode ?? '?'}`;
      const line = firstLine(result.stderr);
      return line === '' ? how : `${how}: ${line}`;
    }
  }
}

class BoundedText {
  readonly #chunks: Buffer[] = [];
  #length = 0;
  constructor(readonly max: number) {}
  add(chunk: Buffer): void {
    if (this.#length >= this.max) return;
    const part = chunk.subarray(0, this.max - this.#length);
    this.#chunks.push(part);
    this.#length += part.length;
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
