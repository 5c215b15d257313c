// What every disk benchmark does before its first trial: parse its settings, check the folder,
// create and fill the test file, decide how reads get past the page cache, and undo it all.
import { ProfileError } from '../../profiles/profile';
import { parseNumberSettings } from '../settings';
import type { BenchContext } from '../types';
import { fillFile, MiB, newFileTag, openTestFile, type OpenedFile } from './direct-file';
import type { DiskIo } from './disk-io';
import { checkFolder, DiskSetupError, newTestFile, removeStaleFiles, type TestFile } from './test-file';

export interface DiskSettings {
  /** Size of the test file. */
  readonly fileMiB: number;
  /** Length of one timed trial; undefined means the profile's trialSeconds. */
  readonly seconds: number | undefined;
}

/** Parses `fileMiB` and the optional `seconds` of a disk benchmark's profile settings. */
export function parseDiskSettings(benchmarkId: string, raw: Readonly<Record<string, unknown>>, defaultFileMiB: number): DiskSettings {
  const { seconds, ...rest } = raw;
  if (seconds !== undefined && (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0.01 || seconds > 3600)) {
    throw new ProfileError(`${benchmarkId}: setting "seconds" must be a number from 0.01 to 3600, got ${JSON.stringify(seconds)}`);
  }
  const parsed = parseNumberSettings(benchmarkId, rest, { fileMiB: { default: defaultFileMiB, min: 1, max: 1024 * 1024, integer: true } });
  return { fileMiB: parsed.fileMiB, seconds: seconds as number | undefined };
}

/**
 * How a benchmark's I/O meets the device, recorded in its samples:
 * - `direct`: O_DIRECT, no page cache in the way;
 * - `buffered+dropcaches`: reads through the page cache, emptied before each trial (root only);
 * - `buffered`: writes through the page cache, made durable by fdatasync before the clock stops.
 */
export type IoMode = 'direct' | 'buffered+dropcaches' | 'buffered';

export interface PreparedFile extends OpenedFile {
  readonly path: string;
  readonly fileBytes: number;
  /** Written into every 4 KiB block; see stampBlocks. */
  readonly tag: number;
  readonly ioMode: IoMode;
  /** Closes and removes the file; safe to call twice. */
  dispose(): void;
}

export interface PrepareFileOptions {
  /** Size of the I/O buffer (at least one block of the benchmark). */
  readonly bufferBytes: number;
  /** Whether to open with O_DIRECT when the file system takes it. */
  readonly wantDirect: boolean;
  /** Whether the benchmark reads: then buffered I/O is acceptable only with dropped caches. */
  readonly reads: boolean;
}

/** Creates, fills and opens the test file of one disk benchmark. */
export async function prepareTestFile(
  io: DiskIo,
  benchmarkId: string,
  settings: DiskSettings,
  context: BenchContext,
  options: PrepareFileOptions,
): Promise<PreparedFile> {
  const fileBytes = settings.fileMiB * MiB;
  const dir = checkFolder(io, context.targets?.diskDir, fileBytes);
  removeStaleFiles(dir);
  const file: TestFile = newTestFile(dir, benchmarkId);
  let opened: OpenedFile | undefined;
  const cleanUp = (): void => {
    if (opened !== undefined) {
      try {
        io.close(opened.fd);
      } catch {
        // Closed already.
      }
      opened = undefined;
    }
    file.remove(io);
  };
  try {
    opened = openTestFile(io, file.path, Math.max(options.bufferBytes, MiB), options.wantDirect);
    const tag = newFileTag();
    await fillFile(io, opened, fileBytes, tag, context.signal);
    let ioMode: IoMode = opened.direct ? 'direct' : 'buffered';
    if (!opened.direct && options.reads) {
      try {
        io.dropCaches();
      } catch (err: unknown) {
        throw new DiskSetupError(
          `cannot read past the page cache in ${dir}: the file system refused O_DIRECT and dropping the page cache needs root ` +
            `(${(err as Error).message}); pass --disk-dir on a file system with O_DIRECT (ext4, xfs, btrfs) or run as root`,
          { cause: err },
        );
      }
      ioMode = 'buffered+dropcaches';
    }
    const ready = opened;
    return { ...ready, path: file.path, fileBytes, tag, ioMode, dispose: cleanUp };
  } catch (err: unknown) {
    cleanUp();
    throw err;
  }
}

/** The trial length in seconds: the benchmark's own setting, else the profile's. */
export function trialSeconds(settings: DiskSettings, context: BenchContext): number {
  return settings.seconds ?? context.profile.trialSeconds;
}

/** Throws unless a positional call moved exactly `expected` bytes. */
export function checkTransfer(done: number, expected: number, what: string): void {
  if (done !== expected) throw new Error(`${what} moved ${done} of ${expected} bytes`);
}

/**
 * The sample parameter that says how an O_DIRECT buffer's pages lie: `pages=scattered`, each
 * its own DMA segment (see scatteredPagesBuffer). Buffered I/O copies through the page cache,
 * so it has none. A sample measured with another layout must not pair with these.
 */
export function bufferParameter(f: OpenedFile): Readonly<Record<string, string>> {
  return f.direct ? { pages: 'scattered' } : {};
}
