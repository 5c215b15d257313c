// Bounded, never-throwing reads of files below a root folder, so detection can run on the
// live system ('/') or on an image or fixture tree, and a missing file is just "undefined".
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Resolves an absolute system path like `/proc/cpuinfo` below `root`. */
export function underRoot(root: string, systemPath: string): string {
  return path.join(root, systemPath);
}

/** True when `root` is the live system's root, where commands may describe it too. */
export function isLiveRoot(root: string): boolean {
  return path.resolve(root) === '/';
}

/** A bounded read: the text, or the error code (ENOENT, EACCES, EPERM, EISDIR, …) that stopped it. */
export type ReadResult = { readonly text: string } | { readonly error: string };

/**
 * Reads at most `maxBytes` from the start of a file as UTF-8; undefined when it cannot be read.
 * Reads in chunks rather than trusting the size, because /proc and /sys files report size 0.
 */
export async function readHead(file: string, maxBytes = 64 * 1024): Promise<string | undefined> {
  const result = await readHeadResult(file, maxBytes);
  return 'text' in result ? result.text : undefined;
}

/**
 * Like {@link readHead}, but says why a file could not be read. With `nonBlocking`, a read that
 * would wait (EAGAIN: the end of /dev/kmsg) ends the text instead of blocking.
 */
export async function readHeadResult(file: string, maxBytes = 64 * 1024, nonBlocking = false): Promise<ReadResult> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, nonBlocking ? fsConstants.O_RDONLY | fsConstants.O_NONBLOCK : 'r');
    const buffer = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      // /dev/kmsg hands out one record per read and refuses a buffer shorter than the record.
      if (nonBlocking && maxBytes - length < 8 * 1024) break;
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, length, maxBytes - length, null));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (nonBlocking && code === 'EAGAIN') break;
        // /dev/kmsg: records were overwritten while reading; the next read goes on after them.
        if (nonBlocking && code === 'EPIPE') continue;
        throw err;
      }
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { text: buffer.subarray(0, length).toString('utf8') };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Reads at most the last `maxBytes` of a regular file (e.g. a syslog file that grows for
 * months, where the current boot is at the end); undefined when it cannot be read.
 */
export async function readTail(file: string, maxBytes = 4 * 1024 * 1024): Promise<string | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, start + length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The modification time of a file in ms since the epoch, or undefined. */
export async function modifiedAt(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when the path exists (file or folder) and can be stat'ed. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}
