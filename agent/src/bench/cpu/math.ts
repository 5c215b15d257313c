// cpu.math: calls of the math library (sqrt, sin, cos, exp, log), the 2009 study's "math"
// test. V8 turns sqrt into one instruction and the others into calls of its fdlibm port,
// so this is floating-point work plus call overhead, with no system involvement.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/** Math calls per loop iteration of `mathCalls`. */
export const MATH_CALLS_PER_ITERATION = 5;

/**
 * Sums sqrt, sin, cos, exp and log of arguments that sweep [1, 2) (no denormals, no
 * overflow, no special cases). The sum is returned and consumed, and each call's result
 * feeds the sum, so none of the calls is dead; the arguments change every iteration, so
 * nothing is loop-invariant.
 */
export function mathCalls(iterations: number): number {
  let sum = 0;
  for (let i = 0; i < iterations; i++) {
    const x = 1 + (i & 1023) * 0.0009765625;
    sum += Math.sqrt(x) + Math.sin(x) + Math.cos(x) + Math.exp(x) + Math.log(x);
  }
  return sum;
}

export type MathSettings = Record<string, never>;

export const cpuMath: BenchmarkDefinition<MathSettings> = {
  id: 'cpu.math',
  description: 'Math.sqrt/sin/cos/exp/log calls',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mcalls/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.math', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    const run = (n: number): void => consume(mathCalls(n));
    const kernels: Kernel[] = [{ name: 'mathCalls', fn: mathCalls }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'sqrt-sin-cos-exp-log' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * MATH_CALLS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.math', kernels),
    };
  },
};
