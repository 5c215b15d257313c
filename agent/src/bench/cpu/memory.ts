// cpu.memory: loads and stores that hit the first-level cache, the 2009 study's "memory"
// CPU test. It measures the core's load/store path, not DRAM (that is mem.bandwidth and
// mem.latency), so a guest should match native closely.
import { ProfileError } from '../../profiles/profile';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface MemorySettings {
  /** Size of the array worked on; a power of two that fits the L1 data cache. @default 16 */
  readonly workingSetKiB: number;
}

/** Memory operations per loop iteration of `loadsAndStores`: two loads and a store. */
export const MEMORY_OPS_PER_ITERATION = 3;

/**
 * Two loads and one store per iteration at indices that walk the array with different
 * strides (the array length must be a power of two). The stored values feed later loads
 * and the loaded values feed the returned sum, which the caller consumes, so neither the
 * stores nor the loads can be removed.
 */
export function loadsAndStores(array: Int32Array, iterations: number): number {
  const mask = array.length - 1;
  let j = 0;
  let sum = 0;
  for (let i = 0; i < iterations; i++) {
    const v = array[j] as number;
    array[(j + 97) & mask] = (v + i) | 0;
    sum = (sum + (array[(j + 31) & mask] as number)) | 0;
    j = (j + 13) & mask;
  }
  return sum;
}

export const cpuMemory: BenchmarkDefinition<MemorySettings> = {
  id: 'cpu.memory',
  description: 'loads and stores within the L1 data cache',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mops/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    const parsed = parseNumberSettings('cpu.memory', raw, {
      workingSetKiB: { default: 16, min: 1, max: 1024, integer: true },
    });
    if ((parsed.workingSetKiB & (parsed.workingSetKiB - 1)) !== 0) {
      throw new ProfileError(`cpu.memory: setting "workingSetKiB" must be a power of two, got ${parsed.workingSetKiB}`);
    }
    return parsed;
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const array = new Int32Array((settings.workingSetKiB * 1024) / 4);
    for (let i = 0; i < array.length; i++) array[i] = i;
    const run = (n: number): void => consume(loadsAndStores(array, n));
    const kernels: Kernel[] = [{ name: 'loadsAndStores', fn: loadsAndStores }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { workingSetKiB: String(settings.workingSetKiB) },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * MEMORY_OPS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.memory', kernels),
    };
  },
};
