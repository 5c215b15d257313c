// The agent's spool: every sample is written to disk (fsync'd) before it is sent, and
// removed only when the collector has acknowledged it; the run's start and end are kept
// beside them. What a crash, a restart or an unreachable collector leaves here is
// delivered later, once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EndRunRequest, EnrollRequest, Sample, StartRunRequest } from '@guestbench/proto';

/** Where the agent keeps its state: $GUESTBENCH_STATE_DIR, /var/lib/guestbench for root, else ~/.local/state/guestbench. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const given = env['GUESTBENCH_STATE_DIR'];
  if (given !== undefined && given !== '') return path.resolve(given);
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/guestbench';
  return path.join(os.homedir(), '.local', 'state', 'guestbench');
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file so that after a crash it is either whole or absent: temp file, fsync, rename, fsync the folder. */
function writeDurably(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

function safeName(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export interface SpooledRunState {
  readonly agentId: string;
  /** The agent process running it; its folder is not touched by others while it lives. */
  readonly pid: number;
  /** How the agent enrolled for this run, so a later delivery can enroll the same way. */
  readonly enroll: EnrollRequest;
  readonly start: StartRunRequest;
  /** Set once the run has ended on the agent's side. */
  readonly end: EndRunRequest | undefined;
}

/** One run's folder in the spool. */
export class SpooledRun {
  constructor(readonly dir: string) {}

  get runId(): string {
    return path.basename(this.dir);
  }

  private get samplesDir(): string {
    return path.join(this.dir, 'samples');
  }

  state(): SpooledRunState {
    const raw = JSON.parse(fs.readFileSync(path.join(this.dir, 'run.json'), 'utf8')) as {
      agentId: string;
      pid?: number;
      enroll: unknown;
      start: unknown;
      end?: unknown;
    };
    return {
      agentId: raw.agentId,
      pid: raw.pid ?? 0,
      enroll: EnrollRequest.fromJSON(raw.enroll),
      start: StartRunRequest.fromJSON(raw.start),
      end: raw.end === undefined ? undefined : EndRunRequest.fromJSON(raw.end),
    };
  }

  /** Records that the run ended (durably), so a later delivery can end it at the collector. */
  markEnded(end: EndRunRequest): void {
    const s = this.state();
    writeDurably(
      path.join(this.dir, 'run.json'),
      JSON.stringify({
        agentId: s.agentId,
        pid: s.pid,
        enroll: EnrollRequest.toJSON(s.enroll),
        start: StartRunRequest.toJSON(s.start),
        end: EndRunRequest.toJSON(end),
      }),
    );
  }

  /** Adds samples durably; a sample already spooled is left as it is. */
  add(samples: readonly Sample[]): void {
    for (const s of samples) {
      const file = path.join(this.samplesDir, `${safeName(s.id)}.pb`);
      if (!fs.existsSync(file)) writeDurably(file, Sample.encode(s).finish());
    }
  }

  pending(): Sample[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.samplesDir).filter((n) => n.endsWith('.pb'));
    } catch {
      return [];
    }
    return names.sort().map((n) => Sample.decode(fs.readFileSync(path.join(this.samplesDir, n))));
  }

  /** Removes acknowledged samples. */
  acknowledge(ids: readonly string[]): void {
    for (const id of ids) fs.rmSync(path.join(this.samplesDir, `${safeName(id)}.pb`), { force: true });
    if (ids.length > 0) fsyncDir(this.samplesDir);
  }

  /** Whether another live process owns this run (it is still running it). */
  ownedByOtherProcess(): boolean {
    const pid = this.state().pid;
    if (pid === 0 || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err: unknown) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /**
   * Moves the run out of the spool, to `rejected/` beside it, with the collector's reason in
   * `reason.txt`: for a run the collector refused as invalid, which no retry can deliver.
   * Its samples stay on disk for a person to look at; no later start tries them again.
   */
  setAside(reason: string): string {
    const rejected = path.join(path.dirname(path.dirname(this.dir)), 'rejected');
    fs.mkdirSync(rejected, { recursive: true, mode: 0o700 });
    writeDurably(path.join(this.dir, 'reason.txt'), `${reason}\n`);
    const target = path.join(rejected, path.basename(this.dir));
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(this.dir, target);
    fsyncDir(rejected);
    fsyncDir(path.dirname(this.dir));
    return target;
  }

  /** Removes the whole run, once the collector has its end and every sample. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fsyncDir(path.dirname(this.dir));
  }
}

export class Spool {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'spool');
  }

  /** Opens a run's folder, writing its start durably before anything is sent. */
  begin(enroll: EnrollRequest, start: StartRunRequest): SpooledRun {
    const agentId = enroll.agentId;
    const dir = path.join(this.dir, start.runId);
    fs.mkdirSync(path.join(dir, 'samples'), { recursive: true, mode: 0o700 });
    fsyncDir(this.dir);
    writeDurably(
      path.join(dir, 'run.json'),
      JSON.stringify({ agentId, pid: process.pid, enroll: EnrollRequest.toJSON(enroll), start: StartRunRequest.toJSON(start) }),
    );
    return new SpooledRun(dir);
  }

  /** Runs left in the spool, oldest first. Folders without a readable run.json are skipped. */
  runs(): SpooledRun[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => fs.existsSync(path.join(this.dir, n, 'run.json')))
      .map((n) => ({ n, t: fs.statSync(path.join(this.dir, n, 'run.json')).mtimeMs }))
      .sort((a, b) => a.t - b.t)
      .map(({ n }) => new SpooledRun(path.join(this.dir, n)));
  }
}
