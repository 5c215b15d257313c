// cpu.float32: the cpu.float64 chain in single precision, the 2009 study's "float" test.
// JavaScript computes in double; Math.fround after each step would round doubles rather
// than run single-precision instructions, so the kernel is a WebAssembly f32 function,
// which V8 compiles to scalar single-precision SSE/NEON instructions.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { F32, I32, countedLoop, encodeModule, instantiate, f32Const, op } from './wasm-module';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/** Floating-point operations per iteration of the chain. */
export const FLOAT32_FLOPS_PER_ITERATION = 4;

/**
 * One step, on local 1: x ← (x·0.75 + 1.5)·1.25 − 0.5 in f32, the same contraction as
 * cpu.float64 (all constants are exact in f32). The result is returned and consumed, and
 * WebAssembly semantics forbid re-associating float arithmetic, so all four flops run.
 */
const STEP = [
  op.localGet,
  1,
  ...f32Const(0.75),
  op.f32Mul,
  ...f32Const(1.5),
  op.f32Add,
  ...f32Const(1.25),
  op.f32Mul,
  ...f32Const(0.5),
  op.f32Sub,
  op.localSet,
  1,
];

/** (iterations: i32, seed: f32) → f32. */
export type Float32Chain = (iterations: number, seed: number) => number;

let cached: Float32Chain | undefined;

/** Compiles (once) and returns the WebAssembly chain. */
export function float32Chain(): Float32Chain {
  if (cached === undefined) {
    const bytes = encodeModule([{ name: 'chain', params: [I32, F32], results: [F32], body: [...countedLoop(STEP), op.localGet, 1] }]);
    cached = instantiate(bytes)['chain'] as Float32Chain;
  }
  return cached;
}

const CHUNK = 2 ** 30;

export type Float32Settings = Record<string, never>;

export const cpuFloat32: BenchmarkDefinition<Float32Settings> = {
  id: 'cpu.float32',
  description: 'dependent chain of single-precision multiply/add/subtract (WebAssembly f32)',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mflops', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.float32', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    const chain = float32Chain();
    const run = (n: number): void => {
      let x = 0.1;
      for (let left = n; left > 0; left -= CHUNK) x = chain(Math.min(left, CHUNK), x);
      consume(x);
    };
    const kernels: Kernel[] = [{ name: 'float32Chain (WebAssembly)', fn: chain, wasm: true }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'wasm-f32-mul-add-mul-sub' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * FLOAT32_FLOPS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.float32', kernels),
    };
  },
};
