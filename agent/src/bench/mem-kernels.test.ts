import { readFileSync } from 'node:fs';
import { copyBuffers, memBandwidth } from './mem/bandwidth';
import { buildChase, chase, LINE_BYTES, memLatency, sattoloCycle } from './mem/latency';
import { freshChunk, memPagefault, PAGE_BYTES, touchPages } from './mem/pagefault';
import { releaseArrayBuffers } from './mem/release-memory';
import { expectRates, oneTrial } from '../../test/helpers/kernel-trial';

describe('mem.bandwidth', () => {
  it('measures a finite positive copy rate in GB/s and records the buffer size', async () => {
    const { values, parameters } = await oneTrial(memBandwidth, { bufferMiB: 2 });
    expectRates(memBandwidth, values);
    expect(memBandwidth.metrics[0]?.unit).toBe('GB/s');
    expect(values['copy']).toBeLessThan(10000);
    expect(parameters['bufferMiB']).toBe('2');
  });

  it('really copies', () => {
    const source = Uint8Array.from({ length: 10000 }, (_, i) => i % 251);
    const target = new Uint8Array(10000);
    copyBuffers(source, target, 2);
    expect(target).toEqual(source);
  });

  it('refuses a bad buffer size with a clear message', () => {
    expect(() => memBandwidth.parseSettings({ bufferMiB: 0 })).toThrow('mem.bandwidth: setting "bufferMiB" must be a whole number from 1 to 16384, got 0');
    expect(() => memBandwidth.parseSettings({ bufferMiB: '64' })).toThrow(/bufferMiB/);
    expect(memBandwidth.parseSettings({})).toEqual({ bufferMiB: 256 });
  });
});

describe('mem.latency', () => {
  it('measures finite positive latencies in ns/load for both working sets', async () => {
    const { values, parameters } = await oneTrial(memLatency, { workingSetMiB: 2, smallKiB: 4 });
    expectRates(memLatency, values);
    expect(memLatency.metrics.map((m) => [m.name, m.unit, m.direction])).toEqual([
      ['chase', 'ns/load', 'lower'],
      ['chase_in_cache', 'ns/load', 'lower'],
    ]);
    expect(parameters).toEqual({ workingSetMiB: '2', smallKiB: '4', strideBytes: '64' });
  });

  it("Sattolo's algorithm gives one cycle through every element", () => {
    for (const n of [2, 3, 10, 1000]) {
      const next = sattoloCycle(n, 99);
      const seen = new Set<number>();
      let p = 0;
      for (let i = 0; i < n; i++) {
        seen.add(p);
        p = next[p] as number;
      }
      expect(p).toBe(0);
      expect(seen.size).toBe(n);
    }
  });

  it('chases through every cache line of the working set once per cycle', () => {
    const bytes = 64 * 1024;
    const lines = bytes / LINE_BYTES;
    const array = buildChase(bytes);
    const seen = new Set<number>();
    let p = 0;
    for (let i = 0; i < lines; i++) {
      seen.add(p);
      p = chase(array, p, 1);
    }
    expect(seen.size).toBe(lines);
    expect(chase(array, 0, lines)).toBe(0);
  });

  it('refuses a bad working set with a clear message', () => {
    expect(() => memLatency.parseSettings({ workingSetMiB: 0 })).toThrow('mem.latency: setting "workingSetMiB" must be a whole number from 1 to 16384, got 0');
    expect(() => memLatency.parseSettings({ smallKB: 16 })).toThrow(/unknown setting "smallKB"/);
    expect(memLatency.parseSettings({})).toEqual({ workingSetMiB: 256, smallKiB: 16 });
  });
});

/** Minor page faults of this process so far (field 10 of /proc/self/stat). */
function minorFaults(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[7]);
}

function transparentHugePagesAlways(): boolean {
  try {
    return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[always]');
  } catch {
    return false;
  }
}

describe('mem.pagefault', () => {
  it('measures a finite positive rate in faults/s', async () => {
    const { values, parameters } = await oneTrial(memPagefault, { chunkMiB: 40 });
    expectRates(memPagefault, values);
    expect(memPagefault.metrics[0]?.unit).toBe('faults/s');
    expect(parameters).toEqual({ chunkMiB: '40', pageBytes: '4096' });
  });

  // With THP set to "always" one fault maps 512 pages, so there is nothing to count here.
  const countsFaults = transparentHugePagesAlways() ? it.skip : it;

  /** Touches `pages` pages of `chunk` and returns the minor faults that took. */
  function faultsOfTouching(chunk: Uint8Array, pages: number): number {
    const before = minorFaults();
    expect(touchPages(chunk, 0, pages)).toBe(pages);
    return minorFaults() - before;
  }

  countsFaults('touches fresh pages: each touch is one page fault', () => {
    const pages = 4096;
    const chunk = freshChunk(40 * 1024 * 1024);
    const faults = faultsOfTouching(chunk, pages);
    expect(faults).toBeGreaterThanOrEqual(pages * 0.95);
    expect(faults).toBeLessThan(pages * 1.5);
    // Touching them again costs no fault: the first touch was what faulted.
    expect(faultsOfTouching(chunk, pages)).toBeLessThan(pages * 0.05);
    expect(chunk[PAGE_BYTES]).toBe(1);
  });

  // What made the test above fail now and then while chunks were plain Uint8Arrays: once
  // malloc's heap has a free block big enough, it serves the chunk from there and calloc
  // zeroes it, so the touches fault no more. A fresh chunk faults whatever the heap holds.
  countsFaults('a chunk is fresh even when malloc has a big enough free block to recycle', async () => {
    const MiB = 1024 * 1024;
    // A freed 30 MiB mapping raises glibc's mmap threshold to 30 MiB; the next 30 MiB
    // buffers then come from the heap, and freeing the first three of them (the fourth
    // keeps them off the heap's top) leaves one free block of 90 MiB.
    let warm: Uint8Array | undefined = new Uint8Array(30 * MiB);
    touchPages(warm, 0, warm.length / PAGE_BYTES);
    warm = undefined;
    await releaseArrayBuffers(30 * MiB);
    const held: (Uint8Array | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const b = new Uint8Array(30 * MiB);
      touchPages(b, 0, b.length / PAGE_BYTES);
      held.push(b);
    }
    held.fill(undefined, 0, 3);
    await releaseArrayBuffers(90 * MiB);
    const pages = 4096;
    expect(faultsOfTouching(freshChunk(40 * MiB), pages)).toBeGreaterThanOrEqual(pages * 0.95);
    expect(held[3]?.length).toBe(30 * MiB);
  });

  it('refuses a chunk size outside 1 to 4096 MiB', () => {
    expect(() => memPagefault.parseSettings({ chunkMiB: 0 })).toThrow('mem.pagefault: setting "chunkMiB" must be a whole number from 1 to 4096, got 0');
  });
});
