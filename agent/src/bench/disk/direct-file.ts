// Opens a test file for I/O that bypasses the page cache (O_DIRECT) and finds a buffer whose
// memory address O_DIRECT accepts; fills the file with data that neither compresses nor
// deduplicates, and stamps every 4 KiB block so reads can prove where their data came from.
//
// Node cannot ask for an aligned Buffer: Buffer.allocUnsafeSlow's memory comes from malloc,
// typically 16 bytes past a page boundary, while O_DIRECT wants at least the logical block
// size (512). A WebAssembly.Memory is page-aligned by construction (V8 maps it with mmap)
// and never moves while it is not grown, so the I/O buffer comes from one: page-aligned, as
// fio's buffers are. The kernel is still asked (EINVAL means misaligned) before the buffer
// is trusted, and other offsets are tried if it refuses.
//
// Where the buffer's pages sit in physical memory changes what the device is asked to do.
// The kernel turns each run of physically adjacent pages into one DMA segment, and a device
// takes at most max_segments of them per request (254 on a virtio disk): a 1 MiB O_DIRECT
// I/O from 256 scattered pages becomes two requests, from a buffer with some adjacent pages
// one. On this machine's virtual disk that alone moved sequential reads by 1.5-2.3x and
// writes by 1.3x, and where the pages land is luck: fio gets new luck in every process,
// and a benchmark keeping one buffer keeps its luck for the whole run. So the buffer's pages
// are placed apart on purpose (scatteredPagesBuffer): every page its own segment, and the
// number of requests per I/O follows from the device's limits alone, the same in every run.
import { randomFillSync, randomInt } from 'node:crypto';
import fs from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { O_DIRECT, type DiskIo } from './disk-io';
import { DiskSetupError } from './test-file';
import { wasmMemory } from '../wasm-memory';

export const BLOCK_4K = 4096;
export const MiB = 1024 * 1024;
/** The largest alignment O_DIRECT asks of memory (a page). */
const MAX_ALIGNMENT = 4096;
/** Node's allocations are at least 8-byte aligned, so finer steps cannot help. */
const PROBE_STEP = 8;

export interface OpenedFile {
  readonly fd: number;
  /** True when the file was opened with O_DIRECT and `buffer` suits it. */
  readonly direct: boolean;
  /** `bufferBytes` long; aligned for O_DIRECT when `direct`. Its start is aligned too, so any 4 KiB-multiple prefix is. */
  readonly buffer: Buffer;
}

function isEinval(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'EINVAL';
}

/**
 * Creates `file` (it must not exist) and opens it for reading and writing, with O_DIRECT when
 * `wantDirect` and the file system takes it; otherwise buffered.
 */
export function openTestFile(io: DiskIo, file: string, bufferBytes: number, wantDirect: boolean): OpenedFile {
  const base = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL;
  if (wantDirect && O_DIRECT !== undefined) {
    let fd: number | undefined;
    try {
      fd = io.open(file, base | O_DIRECT, 0o600);
    } catch (err: unknown) {
      // EINVAL: this file system does not do O_DIRECT (older tmpfs, some FUSE); go buffered.
      if (!isEinval(err)) throw new DiskSetupError(`cannot create ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (fd !== undefined) {
      const raw = scatteredPagesBuffer(bufferBytes + MAX_ALIGNMENT);
      randomFillSync(raw);
      for (let offset = 0; offset < MAX_ALIGNMENT; offset += PROBE_STEP) {
        try {
          io.pwrite(fd, raw.subarray(offset, offset + BLOCK_4K), 0);
          return { fd, direct: true, buffer: raw.subarray(offset, offset + bufferBytes) };
        } catch (err: unknown) {
          if (!isEinval(err)) {
            io.close(fd);
            throw new DiskSetupError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
          }
        }
      }
      // The kernel took the O_DIRECT open but no buffer: treat it as unsupported.
      io.close(fd);
      io.unlink(file);
    }
  }
  try {
    const fd = io.open(file, base, 0o600);
    return { fd, direct: false, buffer: Buffer.allocUnsafeSlow(bufferBytes) };
  } catch (err: unknown) {
    throw new DiskSetupError(`cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The size of the pages the kernel maps; O_DIRECT pins a buffer page by page. */
export const MEMORY_PAGE = 4096;

/** How many passes scatteredPagesBuffer makes over the buffer's pages. */
const SCATTER_PASSES = 4;

/**
 * A page-aligned Buffer whose pages are not physically adjacent to one another (see the top
 * of this file). Fresh WebAssembly memory has no pages yet: the kernel gives each one at its
 * first write, from a free list that mostly hands out neighbours one after another. Writing
 * the pages in four passes (every fourth page from page 0, then from page 1, ...) gives a
 * page's physical neighbour to the page four further on, not to the next one: virtual
 * neighbours were allocated a quarter of the buffer apart. (Writing each page in turn with
 * a page of a throw-away second memory did the same when the machine was quiet, but a page
 * freed by another process between two allocations put neighbours side by side again: up
 * to 6 pairs in a busy test run. The passes showed none in 40 buffers, half of them built
 * while two other processes allocated and freed memory without pause.) The benchmarks'
 * 1 MiB buffers stay below 2 MiB of memory, so no transparent huge page can back them.
 */
export function scatteredPagesBuffer(bytes: number): Buffer {
  const memory = wasmMemory(bytes);
  const pages = new Uint8Array(memory);
  const count = Math.ceil(pages.length / MEMORY_PAGE);
  for (let pass = 0; pass < SCATTER_PASSES; pass++) {
    for (let page = pass; page < count; page += SCATTER_PASSES) pages[page * MEMORY_PAGE] = 1;
  }
  return Buffer.from(memory, 0, bytes);
}

/** A random non-zero tag of one test file, written into every block. */
export function newFileTag(): number {
  return randomInt(1, 0xffffffff);
}

/**
 * Writes a header into each 4 KiB block of `buffer`: the file's tag, the block's index in the
 * file and a generation. It makes every block on disk distinct (no deduplication can shrink
 * the work) and lets a read check that it got the block it asked for.
 */
export function stampBlocks(buffer: Buffer, tag: number, firstBlock: number, generation: number): void {
  for (let at = 0; at + 12 <= buffer.length; at += BLOCK_4K) {
    buffer.writeUInt32LE(tag, at);
    buffer.writeUInt32LE((firstBlock + at / BLOCK_4K) >>> 0, at + 4);
    buffer.writeUInt32LE(generation >>> 0, at + 8);
  }
}

/** Whether the 4 KiB block at the start of `buffer` is block `block` of the file tagged `tag`. */
export function hasStamp(buffer: Buffer, tag: number, block: number): boolean {
  return buffer.readUInt32LE(0) === tag && buffer.readUInt32LE(4) === block >>> 0;
}

/**
 * Writes the whole file once with fresh random data (stamped per block) and makes it
 * durable, so that reads hit allocated, non-zero, non-repeating blocks on the device.
 * Yields to the event loop between chunks and stops when `signal` aborts.
 */
export async function fillFile(io: DiskIo, opened: OpenedFile, fileBytes: number, tag: number, signal: AbortSignal): Promise<void> {
  const chunk = opened.buffer;
  let sliceStart = Date.now();
  for (let position = 0; position < fileBytes; position += chunk.length) {
    const part = fileBytes - position >= chunk.length ? chunk : chunk.subarray(0, fileBytes - position);
    randomFillSync(part);
    stampBlocks(part, tag, position / BLOCK_4K, 0);
    io.pwrite(opened.fd, part, position);
    if (Date.now() - sliceStart > 50) {
      await nextTurn();
      signal.throwIfAborted();
      sliceStart = Date.now();
    }
  }
  io.fdatasync(opened.fd);
}
