// cpu.int32: a dependent chain of 32-bit integer multiply, add, xor and shift, the 2009
// study's "32-bit int" test. Each step needs the previous result, so it measures latency
// of the integer ALU, which virtualization should not touch: a guest far below 1.0 here
// means stolen or throttled CPU, not hypervisor overhead.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/** Integer operations per loop iteration of `int32Chain`. */
export const INT32_OPS_PER_ITERATION = 6;

/**
 * `iterations` steps of an LCG followed by an xorshift-add mix, all in int32 (`Math.imul`
 * and `| 0` keep V8 on 32-bit machine integers). The chain is returned and the caller
 * feeds it to `consume`, so the JIT cannot drop the loop; no step can be folded because
 * each depends on the last, and `iterations` and `seed` are only known at run time.
 */
export function int32Chain(iterations: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < iterations; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) | 0;
    x ^= x >>> 13;
    x = (x + (x << 5)) | 0;
  }
  return x;
}

export type Int32Settings = Record<string, never>;

export const cpuInt32: BenchmarkDefinition<Int32Settings> = {
  id: 'cpu.int32',
  description: 'dependent chain of 32-bit integer multiply/add/xor/shift',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mops/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.int32', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    let seed = 0x2545f491;
    const run = (n: number): void => {
      seed = int32Chain(n, seed);
      consume(seed);
    };
    const kernels: Kernel[] = [{ name: 'int32Chain', fn: int32Chain }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'imul-add-xorshift' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * INT32_OPS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.int32', kernels),
    };
  },
};
