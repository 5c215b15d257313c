// The cpu.* kernels run TurboFan's code from their first timed trial, and a kernel that does
// not (or a runtime that cannot tell) is reported, naming it. Real V8 and real kernels.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { tinyProfile } from '../../test/helpers/kernel-trial';
import { cpuArrays } from './cpu/arrays';
import { cpuCalls } from './cpu/calls';
import { cpuFloat32 } from './cpu/float32';
import { cpuFloat64 } from './cpu/float64';
import { cpuInt32 } from './cpu/int32';
import { cpuInt64 } from './cpu/int64';
import { cpuMath } from './cpu/math';
import { cpuMemory } from './cpu/memory';
import { F32, I32, countedLoop, encodeModule, f32Const, instantiate, op } from './cpu/wasm-module';
import {
  canCheckOptimization,
  checkKernels,
  neverOptimizeForTesting,
  optimizationStatusForTesting,
  optimizeKernels,
  STATUS_TURBOFANNED,
} from './optimized-code';
import { runBenchmark } from './runner';
import type { AnyBenchmark } from './types';

const profile = tinyProfile();

/** A fresh closure each call, so every test starts from code V8 has never seen run. */
function freshChain(): (n: number, seed: number) => number {
  return new Function('n', 'seed', 'let x = seed | 0; for (let i = 0; i < n; i++) { x = (Math.imul(x, 69069) + 1) | 0; x ^= x >>> 11; } return x;') as (
    n: number,
    seed: number,
  ) => number;
}

function turbofanned(fn: (...args: never[]) => unknown): boolean {
  return ((optimizationStatusForTesting(fn) ?? 0) & STATUS_TURBOFANNED) !== 0;
}

test('V8 lets the agent force and check optimization here (else every other test would pass vacuously)', () => {
  expect(canCheckOptimization()).toBe(true);
});

describe('optimizeKernels', () => {
  test('compiles a kernel with TurboFan after little work, where the same work leaves its twin unoptimized', () => {
    const forced = freshChain();
    const twin = freshChain();
    // Little work: V8 would not optimize either function on its own yet.
    let warmups = 0;
    optimizeKernels([{ name: 'forced', fn: forced }], () => {
      warmups++;
      forced(64, 1);
    });
    for (let i = 0; i < warmups; i++) twin(64, 1);
    expect(turbofanned(forced)).toBe(true);
    expect(turbofanned(twin)).toBe(false);
    expect(checkKernels('cpu.test', [{ name: 'forced', fn: forced }])).toEqual([]);
    expect(checkKernels('cpu.test', [{ name: 'twin', fn: twin }])).toEqual([
      { flag: 'not-optimized', note: expect.stringMatching(/^cpu\.test: twin ran unoptimized code \(V8 optimization status 0x[0-9a-f]+/) },
    ]);
  });

  test('tiers a WebAssembly function up to TurboFan, where calling it alone leaves it on Liftoff', () => {
    // Different constants: V8 shares the compiled code of modules with the same bytes.
    const make = (c: number): ((n: number, x: number) => number) => {
      const step = [op.localGet, 1, ...f32Const(0.5), op.f32Mul, ...f32Const(c), op.f32Add, op.localSet, 1];
      return instantiate(encodeModule([{ name: 'chain', params: [I32, F32], results: [F32], body: [...countedLoop(step), op.localGet, 1] }]))['chain'] as (
        n: number,
        x: number,
      ) => number;
    };
    const forced = make(1);
    const alone = make(2);
    alone(16, 0.1);
    optimizeKernels([{ name: 'forced', fn: forced, wasm: true }], () => forced(16, 0.1));
    expect(checkKernels('cpu.wasm', [{ name: 'forced', fn: forced, wasm: true }])).toEqual([]);
    expect(checkKernels('cpu.wasm', [{ name: 'alone', fn: alone, wasm: true }])).toEqual([
      { flag: 'not-optimized', note: "cpu.wasm: alone ran WebAssembly baseline (Liftoff) code, not TurboFan's" },
    ]);
  });

  test('gives up on a kernel V8 will not optimize, and the check names it', () => {
    const stubborn = freshChain();
    expect(neverOptimizeForTesting(stubborn)).toBe(true);
    optimizeKernels([{ name: 'stubborn', fn: stubborn }], () => stubborn(1021, 1));
    const problems = checkKernels('cpu.test', [{ name: 'stubborn', fn: stubborn }]);
    expect(problems.map((p) => p.flag)).toEqual(['not-optimized']);
    expect(problems[0]?.note).toMatch(/^cpu\.test: stubborn ran unoptimized code/);
  });
});

describe('every cpu.* benchmark', () => {
  const all: AnyBenchmark[] = [cpuInt32, cpuInt64, cpuFloat32, cpuFloat64, cpuMath, cpuMemory, cpuArrays, cpuCalls];
  test.each(all.map((d) => [d.id, d] as const))('%s runs optimized code from its first timed trial to its last', async (_id, def) => {
    const prepared = await def.prepare(def.parseSettings({}), { profile, signal: new AbortController().signal });
    try {
      expect(prepared.checkCode).toBeDefined();
      expect(prepared.checkCode?.()).toEqual([]);
      for (let i = 0; i < 3; i++) await prepared.trial();
      expect(prepared.checkCode?.()).toEqual([]);
    } finally {
      await prepared.dispose?.();
    }
  });
});

describe('the runner', () => {
  const base: AnyBenchmark = {
    id: 'cpu.fake',
    description: 'a kernel whose code goes bad after the second trial',
    profiles: ['smoke'],
    metrics: [{ name: 'throughput', unit: 'ops/s', direction: 'higher', primary: true }],
    parseSettings: () => ({}),
    prepare: async () => ({ parameters: {}, trial: async () => ({ throughput: 1 }) }),
  };

  test('flags the samples and keeps the note when a check fails after a timed trial', async () => {
    let trials = 0;
    const def: AnyBenchmark = {
      ...base,
      prepare: async () => ({
        parameters: {},
        trial: async () => {
          trials++;
          return { throughput: 1 };
        },
        // Warm-up trials count too: the problem shows only well into the timed trials.
        checkCode: () => (trials >= 4 ? [{ flag: 'not-optimized' as const, note: 'cpu.fake: fakeKernel ran unoptimized code' }] : []),
      }),
    };
    const [sample] = await runBenchmark(def, { profile: { ...profile, minTrials: 4, maxTrials: 4 } });
    expect(sample?.flags).toEqual(['not-optimized']);
    expect(sample?.notes).toEqual(['cpu.fake: fakeKernel ran unoptimized code']);
  });

  test('raises no flag when every check passes, nor for a benchmark that has no check', async () => {
    const checked: AnyBenchmark = { ...base, prepare: async () => ({ parameters: {}, trial: async () => ({ throughput: 1 }), checkCode: () => [] }) };
    for (const def of [checked, base]) {
      const [sample] = await runBenchmark(def, { profile });
      expect(sample?.flags).toEqual([]);
      expect(sample?.notes).toEqual([]);
    }
  });
});

test('an agent whose runtime refuses code from strings flags cpu.* samples optimization-unverified, naming the benchmark', async () => {
  const bin = path.resolve(__dirname, '../../bin/guestbench-agent.js');
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--disallow-code-generation-from-strings',
    bin,
    'bench',
    '--profile',
    'smoke',
    '--only',
    'cpu.float64',
    '--json',
  ]);
  const out = JSON.parse(stdout) as { samples: { benchmarkId: string; flags: string[]; notes: string[] }[] };
  const [sample] = out.samples;
  expect(sample?.flags).toContain('optimization-unverified');
  expect(sample?.flags).not.toContain('not-optimized');
  expect(sample?.notes[0]).toMatch(/^cpu\.float64: cannot ask the JavaScript engine which code runs/);
});
