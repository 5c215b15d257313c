// Where the disk benchmarks put their test file, the checks before it is created, and the
// promise that it is gone afterwards: on dispose, on abort, at process exit, and (for a
// process that was killed outright) at the next start in the same folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MEMORY_FILE_SYSTEMS, type DiskIo } from './disk-io';

/** Refusal to start a disk benchmark: bad folder, not enough space, no way past the page cache. */
export class DiskSetupError extends Error {
  override readonly name = 'DiskSetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isDiskSetupError(err: unknown): err is DiskSetupError {
  return err instanceof DiskSetupError;
}

/**
 * The folder used when none is given: /var/tmp/guestbench, since /var/tmp is on persistent
 * storage by convention, while /tmp is a tmpfs (memory) on many distributions. Falls back
 * to the OS temp folder where /var/tmp does not exist.
 */
export function defaultDiskDir(): string {
  const base = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  return path.join(base, 'guestbench');
}

/** Space left free beyond the test file, so a benchmark never fills a file system to the brim. */
export const FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024;

const FILE_PATTERN = /^guestbench-(?:[a-z0-9_]+)-(\d+)-[0-9a-f]+\.tmp$/;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks the folder before anything is written: it exists (the default one is created),
 * is writable, is on a disk rather than in memory, and has room for `fileBytes` plus a margin.
 */
export function checkFolder(io: DiskIo, folder: string | undefined, fileBytes: number): string {
  const dir = path.resolve(folder ?? defaultDiskDir());
  if (folder === undefined) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err: unknown) {
      throw new DiskSetupError(`cannot create the disk folder ${dir} (${errorText(err)}); pass --disk-dir DIR`, { cause: err });
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err: unknown) {
    throw new DiskSetupError(`disk folder ${dir} does not exist; create it or pass another --disk-dir`, { cause: err });
  }
  if (!stat.isDirectory()) throw new DiskSetupError(`disk folder ${dir} is not a folder`);
  try {
    io.checkWritable(dir);
  } catch (err: unknown) {
    throw new DiskSetupError(`disk folder ${dir} is not writable by this process (${errorText(err)}); pass another --disk-dir`, { cause: err });
  }
  const space = io.statfs(dir);
  const memoryFs = MEMORY_FILE_SYSTEMS[space.type];
  if (memoryFs !== undefined) {
    throw new DiskSetupError(`disk folder ${dir} is on ${memoryFs}, which is memory, not a disk; pass --disk-dir on a disk-backed file system`);
  }
  const needed = fileBytes + FREE_SPACE_MARGIN_BYTES;
  if (space.availableBytes < needed) {
    const mib = (b: number): string => `${Math.floor(b / 1048576)} MiB`;
    throw new DiskSetupError(
      `disk folder ${dir} has ${mib(space.availableBytes)} free; the test file needs ${mib(needed)} (file ${mib(fileBytes)} + ${mib(FREE_SPACE_MARGIN_BYTES)} margin); ` +
        'free some space, pick a smaller fileMiB, or pass another --disk-dir',
    );
  }
  return dir;
}

const live = new Set<string>();
let exitHookInstalled = false;

function removeLiveFiles(): void {
  for (const file of live) {
    try {
      fs.unlinkSync(file);
    } catch {
      // Already gone, or the folder went away: nothing left to clean.
    }
  }
  live.clear();
}

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes test files left in `dir` by guestbench processes that no longer exist (killed outright). */
export function removeStaleFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = FILE_PATTERN.exec(name);
    if (m === null || Number(m[1]) === process.pid || pidIsAlive(Number(m[1]))) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // Someone else removed it first.
    }
  }
  return removed;
}

/** A test file's name and the duty to remove it. */
export interface TestFile {
  readonly path: string;
  /** Unlinks the file (once; later calls do nothing). */
  remove(io: DiskIo): void;
}

/**
 * Names a new test file in `dir` and registers it for removal at process exit, so that an
 * interrupted run that never reaches dispose still leaves nothing behind.
 */
export function newTestFile(dir: string, benchmarkId: string): TestFile {
  if (!exitHookInstalled) {
    process.on('exit', removeLiveFiles);
    exitHookInstalled = true;
  }
  const tag = benchmarkId.replace(/^disk\./, '').replace(/[^a-z0-9_]/g, '_');
  const file = path.join(dir, `guestbench-${tag}-${process.pid}-${Math.floor(Math.random() * 0xffffffff).toString(16)}.tmp`);
  live.add(file);
  return {
    path: file,
    remove(io) {
      if (!live.has(file)) return;
      live.delete(file);
      try {
        io.unlink(file);
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    },
  };
}

/** Test files of this process not yet removed; for tests. */
export function liveTestFiles(): readonly string[] {
  return [...live];
}
