// mem.latency: a dependent random pointer chase. Each load's address comes from the load
// before, so nothing overlaps and each step costs a full miss: over 256 MiB that is a
// cache miss plus a TLB miss, and in a guest a TLB miss walks both the guest's and the
// host's page tables (nested paging), which is where virtualization's memory cost lives.
// The same chase over a small in-cache set is reported beside it as the floor.
import { calibrate, consume, timeRun } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { releaseArrayBuffers } from './release-memory';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface LatencySettings {
  /** The large working set, far beyond the TLB's reach. @default 256 */
  readonly workingSetMiB: number;
  /** The small working set, inside the L1 data cache. @default 16 */
  readonly smallKiB: number;
}

/** One node per cache line, so every step of the chase touches a new line. */
export const LINE_BYTES = 64;
const LINE_INTS = LINE_BYTES / 4;

/**
 * Sattolo's algorithm: a uniformly random permutation that is one single cycle, so a
 * chase started anywhere visits every element before it returns. Deterministic (xorshift
 * from `seed`), so every run chases the same pattern.
 */
export function sattoloCycle(length: number, seed = 0x2545f491): Int32Array {
  const perm = new Int32Array(length);
  for (let i = 0; i < length; i++) perm[i] = i;
  let s = seed | 0 || 1;
  for (let i = length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % i; // 0 ≤ j < i: never i itself, which is what makes one cycle
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm;
}

/**
 * Builds the chase over `bytes`: the first int of each cache line holds the index of the
 * next line's first int, in the order of one random cycle through all lines. Writing every
 * line also faults in every page before timing starts.
 */
export function buildChase(bytes: number, seed?: number): Int32Array {
  const lines = Math.max(2, Math.floor(bytes / LINE_BYTES));
  const next = sattoloCycle(lines, seed);
  const chase = new Int32Array(lines * LINE_INTS);
  for (let i = 0; i < lines; i++) chase[i * LINE_INTS] = (next[i] as number) * LINE_INTS;
  return chase;
}

/**
 * `loads` dependent loads from `start`; returns where it ended, which the caller consumes
 * and starts the next chase from, so no load can be skipped (each address is unknown
 * until the load before it completes).
 */
export function chase(array: Int32Array, start: number, loads: number): number {
  let p = start;
  for (let i = 0; i < loads; i++) p = array[p] as number;
  return p;
}

const MiB = 1024 * 1024;

export const memLatency: BenchmarkDefinition<LatencySettings> = {
  id: 'mem.latency',
  description: 'dependent random pointer chase over a large and a small working set',
  profiles: EVERY_PROFILE,
  metrics: [
    { name: 'chase', unit: 'ns/load', direction: 'lower', primary: true },
    { name: 'chase_in_cache', unit: 'ns/load', direction: 'lower', primary: false },
  ],
  parseSettings(raw) {
    return parseNumberSettings('mem.latency', raw, {
      workingSetMiB: { default: 256, min: 1, max: 16384, integer: true },
      smallKiB: { default: 16, min: 1, max: 65536, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    let large: Int32Array | undefined = buildChase(settings.workingSetMiB * MiB);
    const small = buildChase(settings.smallKiB * 1024);
    let largeAt = 0;
    let smallAt = 0;
    const runLarge = (n: number): void => {
      largeAt = chase(large as Int32Array, largeAt, n);
      consume(largeAt);
    };
    const runSmall = (n: number): void => {
      smallAt = chase(small, smallAt, n);
      consume(smallAt);
    };
    // Half a trial for each working set.
    const half = context.profile.trialSeconds / 2;
    const largeLoads = calibrate(runLarge, half, { start: 1024 });
    const smallLoads = calibrate(runSmall, half, { start: 1024 });
    return {
      parameters: {
        workingSetMiB: String(settings.workingSetMiB),
        smallKiB: String(settings.smallKiB),
        strideBytes: String(LINE_BYTES),
      },
      async trial() {
        const largeSeconds = timeRun(runLarge, largeLoads);
        const smallSeconds = timeRun(runSmall, smallLoads);
        return { chase: (largeSeconds / largeLoads) * 1e9, chase_in_cache: (smallSeconds / smallLoads) * 1e9 };
      },
      async dispose() {
        const bytes = large?.byteLength ?? 0;
        large = undefined;
        await releaseArrayBuffers(bytes);
      },
    };
  },
};
