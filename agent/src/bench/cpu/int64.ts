// cpu.int64: the cpu.int32 chain on real 64-bit machine integers, the 2009 study's "64-bit
// int" test. JavaScript numbers cannot hold them and BigInts live on the heap, so the
// kernel is a hand-assembled WebAssembly function on i64 values, which V8 compiles to
// 64-bit registers and instructions.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { I32, I64, countedLoop, encodeModule, instantiate, i64Const, op } from './wasm-module';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/** Integer operations per iteration of the chain. */
export const INT64_OPS_PER_ITERATION = 6;

/** Knuth's MMIX LCG constants: full 64-bit values, so a 32-bit shortcut would show. */
export const INT64_MULTIPLIER = 6364136223846793005n;
export const INT64_INCREMENT = 1442695040888963407n;

/**
 * One step, on local 1: x ← x·M + C; x ← x ⊕ (x ≫ 29); x ← x + (x ≪ 7), all mod 2^64.
 * The chain is the function's result, and the caller feeds it to `consume`, so the
 * loop's work is observable and cannot be removed.
 */
const STEP = [
  op.localGet,
  1,
  ...i64Const(INT64_MULTIPLIER),
  op.i64Mul,
  ...i64Const(INT64_INCREMENT),
  op.i64Add,
  op.localSet,
  1,
  op.localGet,
  1,
  op.localGet,
  1,
  ...i64Const(29n),
  op.i64ShrU,
  op.i64Xor,
  op.localSet,
  1,
  op.localGet,
  1,
  op.localGet,
  1,
  ...i64Const(7n),
  op.i64Shl,
  op.i64Add,
  op.localSet,
  1,
];

/** (iterations: i32, seed: i64) → i64; i64 crosses into JavaScript as a BigInt. */
export type Int64Chain = (iterations: number, seed: bigint) => bigint;

let cached: Int64Chain | undefined;

/** Compiles (once) and returns the WebAssembly chain. */
export function int64Chain(): Int64Chain {
  if (cached === undefined) {
    const bytes = encodeModule([{ name: 'chain', params: [I32, I64], results: [I64], body: [...countedLoop(STEP), op.localGet, 1] }]);
    cached = instantiate(bytes)['chain'] as Int64Chain;
  }
  return cached;
}

/** Largest count handed to the i32 parameter in one call. */
const CHUNK = 2 ** 30;

export type Int64Settings = Record<string, never>;

export const cpuInt64: BenchmarkDefinition<Int64Settings> = {
  id: 'cpu.int64',
  description: 'dependent chain of 64-bit integer multiply/add/xor/shift (WebAssembly i64)',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mops/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.int64', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    const chain = int64Chain();
    let seed = 0x9e3779b97f4a7c15n;
    const run = (n: number): void => {
      for (let left = n; left > 0; left -= CHUNK) seed = chain(Math.min(left, CHUNK), seed);
      consume(Number(seed & 0xffffn));
    };
    const kernels: Kernel[] = [{ name: 'int64Chain (WebAssembly)', fn: chain, wasm: true }];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'wasm-i64-mul-add-xorshift' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: (iterations * INT64_OPS_PER_ITERATION) / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.int64', kernels),
    };
  },
};
