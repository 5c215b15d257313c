// mem.pagefault: first touches of freshly mapped memory. Each touch of a new page traps
// into the kernel, which finds and zeroes a page and maps it; in a guest, the host may
// also have to back that guest-physical page (an EPT/NPT violation exit) the first time.
// This is the cost behind process start-up, JIT heaps and balloon/overcommit setups.
import { calibrateAsync, consume, now } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { releaseWasmMemories } from './release-memory';
import { wasmMemory } from '../wasm-memory';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface PagefaultSettings {
  /** Size of each fresh mapping. @default 64 */
  readonly chunkMiB: number;
}

/** The base page size of x86-64 and of most arm64 kernels. */
export const PAGE_BYTES = 4096;

/**
 * Writes one byte in each of `pages` pages of `chunk` from byte `offset`. Only writes: a
 * read first would fault the shared zero page in and the write would fault again to copy
 * it, two faults per page. The stores go to memory the caller still holds, so they are
 * observable and the JIT must perform them. Returns the number of pages touched.
 */
export function touchPages(chunk: Uint8Array, offset: number, pages: number): number {
  const end = offset + pages * PAGE_BYTES;
  for (let i = offset; i < end; i += PAGE_BYTES) chunk[i] = 1;
  return pages;
}

const MiB = 1024 * 1024;

/**
 * A chunk of memory no one has touched. It is a WebAssembly memory, which V8 maps with
 * mmap of its own for each one and unmaps when it is collected. A large Uint8Array is not
 * enough: glibc's malloc serves even a request above its mmap threshold from a free block
 * of its heap when it has one big enough, and calloc then zeroes that block itself, so the
 * benchmark would time writes to resident memory, with no fault at all (seen: 0 faults for
 * 10,240 touches after a few 30 MiB buffers had come and gone).
 */
export function freshChunk(bytes: number): Uint8Array {
  return new Uint8Array(wasmMemory(bytes), 0, bytes);
}

/** Fresh chunks are handed out page range by page range; a used-up chunk is freed at once. */
class FreshPages {
  private chunk: Uint8Array | undefined;
  private offset = 0;

  constructor(private readonly chunkBytes: number) {}

  /**
   * Touches `pages` fresh pages and returns the seconds spent touching them. Allocation
   * and freeing happen outside the timed part: this times page faults, not mmap/munmap
   * or garbage collection.
   */
  async touch(pages: number): Promise<number> {
    let left = pages;
    let seconds = 0;
    while (left > 0) {
      if (this.usedUp()) await this.renew();
      const t0 = now();
      const touched = this.touchInChunk(left);
      seconds += now() - t0;
      left -= touched;
    }
    return seconds;
  }

  // The chunk is only ever read in synchronous methods: an async function that read it
  // could keep it in its saved registers across an `await`, and `renew` could then not
  // free it (seen: one chunk always outlived its release).
  private usedUp(): boolean {
    return this.chunk === undefined || this.offset >= this.chunk.length;
  }

  private touchInChunk(pages: number): number {
    const chunk = this.chunk as Uint8Array;
    const n = Math.min(pages, (chunk.length - this.offset) / PAGE_BYTES);
    consume(touchPages(chunk, this.offset, n));
    this.offset += n * PAGE_BYTES;
    return n;
  }

  /** Drops the chunk and returns how many of its bytes were touched (are resident). */
  private drop(): number {
    const touched = this.chunk === undefined ? 0 : this.offset;
    this.chunk = undefined;
    return touched;
  }

  async release(): Promise<void> {
    const touched = this.drop();
    if (touched > 0) await releaseWasmMemories(touched);
  }

  private async renew(): Promise<void> {
    // Free the used chunk first, so at most one chunk is mapped at a time.
    await this.release();
    this.chunk = freshChunk(this.chunkBytes);
    this.offset = 0;
  }
}

export const memPagefault: BenchmarkDefinition<PagefaultSettings> = {
  id: 'mem.pagefault',
  description: 'first touch of freshly mapped memory, one write per 4 KiB page',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'faults', unit: 'faults/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    return parseNumberSettings('mem.pagefault', raw, {
      chunkMiB: { default: 64, min: 1, max: 4096, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const fresh = new FreshPages(settings.chunkMiB * MiB);
    // Calibrated on the touch time alone; a trial's wall time adds allocation and freeing.
    const pages = await calibrateAsync((n) => fresh.touch(n), context.profile.trialSeconds, { start: 256 });
    return {
      parameters: { chunkMiB: String(settings.chunkMiB), pageBytes: String(PAGE_BYTES) },
      async trial() {
        const seconds = await fresh.touch(pages);
        return { faults: pages / seconds };
      },
      async dispose() {
        await fresh.release();
      },
    };
  },
};
