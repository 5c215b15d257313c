// cpu.float64: a dependent chain of double-precision multiply, add and subtract, the 2009
// study's "double" test. Like cpu.int32 it should run at native speed in any guest; the
// interesting result is when it does not (steal, frequency, a busy host).
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/** Floating-point operations per loop iteration of `float64Chain`. */
export const FLOAT64_FLOPS_PER_ITERATION = 4;

/**
 * `iterations` steps of x ← (x·0.75 + 1.5)·1.25 − 0.5, a contraction towards 22 that stays
 * in normal range (no denormals, no infinities, which would change the cost per flop).
 * IEEE rules forbid the JIT from re-associating the constants, so every step is four
 * dependent flops; the result goes to `consume`, so the loop is live.
 */
export function float64Chain(iterations: number, seed: number): number {
  let x = seed;
  for (let i = 0; i < iterations; i++) {
    x = (x * 0.75 + 1.5) * 1.25 - 0.5;
  }
  return x;
}

export type Float64Settings = Record<string, never>;

export const cpuFloat64: BenchmarkDefinition<Float64Settings> = {
  id: 'cpu.float64',
  description: 'dependent chain of double-precision multiply/add/subtract',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mflops', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.float64', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    const seed = 0.1;
    const run = (n: number): void => consume(float64Chain(n, seed));
    const kernels: Kernel[] = [{ name: 'float64Chain', fn: float64Chain }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'mul-add-mul-sub' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * FLOAT64_FLOPS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.float64', kernels),
    };
  },
};
