// cpu.arrays: fill, index and sort of a JavaScript array, the 2009 study's "arrays" test.
// It exercises allocation-free array code, the JIT's bounds checks and the engine's sort
// with a comparator (a call per comparison), all user-mode work.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface ArraysSettings {
  /** Elements in the array. @default 1000 */
  readonly length: number;
}

const ascending = (a: number, b: number): number => a - b;

/**
 * One op: fill `array` with pseudo-random integers from `state`, read it back at indices
 * taken from its own values, then sort it numerically. Returns the next generator state
 * mixed with the sum and the sorted extremes; the caller consumes it, and the next op
 * starts from it, so no op can be skipped or hoisted.
 */
export function arrayOp(array: number[], state: number): number {
  const n = array.length;
  let s = state;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    array[i] = s >>> 8;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum = (sum + (array[(array[i] as number) % n] as number)) | 0;
  array.sort(ascending);
  return (s ^ sum ^ (array[0] as number) ^ (array[n - 1] as number)) | 0;
}

/** `ops` array ops in a row; returns the final state. */
export function arrayOps(array: number[], ops: number, state: number): number {
  let s = state;
  for (let i = 0; i < ops; i++) s = arrayOp(array, s);
  return s;
}

export const cpuArrays: BenchmarkDefinition<ArraysSettings> = {
  id: 'cpu.arrays',
  description: 'fill, index and sort of a JavaScript array',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'ops/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    return parseNumberSettings('cpu.arrays', raw, {
      length: { default: 1000, min: 2, max: 10_000_000, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const array = new Array<number>(settings.length).fill(0);
    let state = 1;
    const run = (n: number): void => {
      state = arrayOps(array, n, state);
      consume(state);
    };
    // The comparator is called from the sort builtin, so it is a kernel of its own; arrayOp
    // is called directly too, so that it is compiled whether or not arrayOps inlines it.
    const kernels: Kernel[] = [
      { name: 'arrayOps', fn: arrayOps },
      { name: 'arrayOp', fn: arrayOp },
      { name: 'ascending', fn: ascending },
    ];
    optimizeKernels(kernels, () => {
      state = arrayOp(array, state);
      run(2);
    });
    const ops = calibrate(run, context.profile.trialSeconds);
    return {
      parameters: { length: String(settings.length) },
      async trial() {
        const seconds = timeRun(run, ops);
        return { throughput: ops / seconds };
      },
      checkCode: () => checkKernels('cpu.arrays', kernels),
    };
  },
};
