// Makes the cpu.* kernels run V8's optimized code in every timed trial, on a fast host and
// in an emulated guest alike, and says when they do not (docs/benchmarks.md, "cpu.* under emulation").
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

/**
 * What a benchmark found out about the code its timed trials ran.
 * - `not-optimized`: V8 reported a kernel running code of a lower tier than its optimizing
 *   compiler's (interpreter, Sparkplug, Liftoff): the value measures the JIT, not the CPU.
 * - `optimization-unverified`: this runtime would not say which code runs (not V8, or V8
 *   without its test natives), so nothing was forced or checked.
 */
export type CodeFlag = 'not-optimized' | 'optimization-unverified';

export interface CodeProblem {
  readonly flag: CodeFlag;
  /** One line for a person: which kernel, what V8 said. */
  readonly note: string;
}

/** A function whose speed a benchmark measures. */
export interface Kernel {
  /** Its name in notes, e.g. "int32Chain". */
  readonly name: string;
  readonly fn: (...args: never[]) => unknown;
  /** An exported WebAssembly function (tiered up by the wasm engine, not by TurboFan). */
  readonly wasm?: boolean;
}

/** V8's test natives, reached through functions compiled after --allow-natives-syntax. */
interface Natives {
  status(fn: unknown): number;
  prepare(fn: unknown): void;
  optimizeOnNextCall(fn: unknown): void;
  /** Waits for the background compiler's jobs and installs their code. */
  finishBackgroundJobs(): void;
  isTurboFanWasm(fn: unknown): boolean;
}

/** Bits of %GetOptimizationStatus (v8/src/runtime/runtime.h, OptimizationStatus), stable since V8 9. */
export const STATUS_IS_FUNCTION = 1 << 0;
export const STATUS_TURBOFANNED = 1 << 6;
export const STATUS_OPTIMIZING_CONCURRENTLY = 1 << 10;

/**
 * Runs `call` with V8's --fuzzing on: these two natives abort the whole process when handed
 * a function V8 will not optimize (and there is no status bit to ask first); with it they
 * return. Only for the call: natives compiled while it is on would be inert, and it must
 * not change anything else the agent does.
 */
function lenient(call: () => unknown): void {
  setFlagsFromString('--fuzzing');
  try {
    call();
  } finally {
    setFlagsFromString('--no-fuzzing');
  }
}

type NativesState = { readonly ok: true; readonly natives: Natives } | { readonly ok: false; readonly reason: string };
let state: NativesState | undefined;

/** Compilations of a kernel that deoptimized again before optimizeKernels gives up (and the check flags it). */
const OPTIMIZE_ROUNDS = 3;
/** How long optimizeKernels keeps a WebAssembly kernel busy waiting for its TurboFan code (emulated guests are slow). */
const WASM_TIER_UP_MS = 30_000;

/**
 * V8's natives, made reachable once per process. `--allow-natives-syntax` only changes how
 * V8 parses source that starts a primary expression with `%`, which no other code does, so
 * turning it on at run time changes nothing else; the natives are compiled with `new
 * Function` after it. Anything that fails here leaves the kernels to V8's own tiering.
 */
function natives(): NativesState {
  if (state !== undefined) return state;
  try {
    setFlagsFromString('--allow-natives-syntax');
    const native = (params: string, body: string): ((...a: unknown[]) => unknown) => new Function(params, body) as (...a: unknown[]) => unknown;
    const status = native('f', 'return %GetOptimizationStatus(f);');
    const prepare = native('f', '%PrepareFunctionForOptimization(f);');
    const optimizeOnNextCall = native('f', '%OptimizeFunctionOnNextCall(f);');
    const built: Natives = {
      status: (fn) => status(fn) as number,
      prepare: (fn) => lenient(() => prepare(fn)),
      optimizeOnNextCall: (fn) => lenient(() => optimizeOnNextCall(fn)),
      finishBackgroundJobs: native('', '%WaitForBackgroundOptimization(); %FinalizeOptimization();'),
      isTurboFanWasm: native('f', 'return %IsTurboFanFunction(f);') as (fn: unknown) => boolean,
    };
    // A runtime whose status word does not mark a function as one cannot be read either.
    if ((built.status(natives) & STATUS_IS_FUNCTION) === 0) throw new Error(`%GetOptimizationStatus gave ${built.status(natives)} for a function`);
    state = { ok: true, natives: built };
  } catch (err: unknown) {
    state = { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  return state;
}

/** Whether this runtime lets the agent force and check optimization (false: not V8, or no natives). */
export function canCheckOptimization(): boolean {
  return natives().ok;
}

/**
 * Compiles `kernels` with V8's optimizing compiler now, on this thread, after `warm` has run
 * them with a little work so that the compiler has type feedback. Left to itself, V8
 * compiles a hot function on a background thread and keeps running slower code until the
 * job is done; under emulation that took longer than a short profile's warm-up and trials,
 * and the trials timed Sparkplug's code. A job already in flight is waited for. `warm` must
 * do little work (a few thousand iterations): too much and V8 queues its own job first.
 */
export function optimizeKernels(kernels: readonly Kernel[], warm: () => void): void {
  const s = natives();
  if (!s.ok) {
    warm();
    return;
  }
  const { natives: v8 } = s;
  const js = kernels.filter((k) => k.wasm !== true);
  const cold = (): Kernel[] => js.filter((k) => (v8.status(k.fn) & STATUS_TURBOFANNED) === 0);
  for (const k of js) v8.prepare(k.fn);
  warm();
  warm();
  // Code compiled from a little feedback can meet a value it did not expect (an int32 that
  // is no longer a small integer) and be thrown away; the next compile knows better, so a
  // kernel that lost its code is compiled again, a few times at most.
  for (let round = 0; round < OPTIMIZE_ROUNDS; round++) {
    const pending = cold();
    if (pending.length === 0) break;
    // V8 ignores the request while its own background job for the function is running.
    if (pending.some((k) => (v8.status(k.fn) & STATUS_OPTIMIZING_CONCURRENTLY) !== 0)) v8.finishBackgroundJobs();
    for (const k of cold()) {
      v8.prepare(k.fn);
      v8.optimizeOnNextCall(k.fn);
    }
    warm();
    warm();
  }
  // WebAssembly has no on-stack replacement: a call that starts in Liftoff's code ends in it.
  // The engine tiers a function up on background threads once calls have used up a budget;
  // little calls use it up soon, and the next call after the job runs TurboFan's code.
  // (%WasmTierUpFunction would be quicker but its arguments changed between V8 versions,
  // and a wrong argument is undefined behaviour, not an error.)
  const wasm = kernels.filter((k) => k.wasm === true);
  const deadline = performance.now() + WASM_TIER_UP_MS;
  while (wasm.some((k) => !v8.isTurboFanWasm(k.fn)) && performance.now() < deadline) warm();
  // Other functions' jobs still queued (the agent's own code getting hot) would compile on
  // the guest's vCPUs during the first trials; under emulation that takes seconds.
  v8.finishBackgroundJobs();
}

/**
 * The kernels V8 reports not running optimized code right now, each as a problem naming it;
 * one `optimization-unverified` problem when V8 cannot be asked. `benchmarkId` prefixes the notes.
 */
export function checkKernels(benchmarkId: string, kernels: readonly Kernel[]): CodeProblem[] {
  const s = natives();
  if (!s.ok)
    return [
      {
        flag: 'optimization-unverified',
        note: `${benchmarkId}: cannot ask the JavaScript engine which code runs (${s.reason}); the kernel was left to the engine's own tiering`,
      },
    ];
  const problems: CodeProblem[] = [];
  for (const k of kernels) {
    if (k.wasm === true) {
      if (!s.natives.isTurboFanWasm(k.fn))
        problems.push({ flag: 'not-optimized', note: `${benchmarkId}: ${k.name} ran WebAssembly baseline (Liftoff) code, not TurboFan's` });
      continue;
    }
    const status = s.natives.status(k.fn);
    if ((status & STATUS_TURBOFANNED) === 0) {
      const pending = (status & STATUS_OPTIMIZING_CONCURRENTLY) !== 0 ? ', an optimization job pending' : '';
      problems.push({
        flag: 'not-optimized',
        note: `${benchmarkId}: ${k.name} ran unoptimized code (V8 optimization status 0x${status.toString(16)}${pending})`,
      });
    }
  }
  return problems;
}

/**
 * Test-only: V8 will never optimize `fn` (a kernel the check must then report). Returns
 * false when natives are unavailable.
 */
export function neverOptimizeForTesting(fn: (...args: never[]) => unknown): boolean {
  const s = natives();
  if (!s.ok) return false;
  (new Function('f', '%NeverOptimizeFunction(f);') as (f: unknown) => void)(fn);
  return true;
}

/** Test-only: V8's status word for `fn`, or undefined without natives. */
export function optimizationStatusForTesting(fn: (...args: never[]) => unknown): number | undefined {
  const s = natives();
  return s.ok ? s.natives.status(fn) : undefined;
}
