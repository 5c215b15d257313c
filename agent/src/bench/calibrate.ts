// Shared by the cpu, mem and sys kernels: a result sink the optimizer cannot see through,
// a monotonic wall clock, and the calibration that sizes a trial to the profile's length.
import { performance } from 'node:perf_hooks';

let sink = 0;

/**
 * Folds a kernel's result into a module-level variable that `consumed()` exports. The JIT
 * must assume another module reads it, so the computation that produced `value` is live
 * and cannot be removed as dead code.
 */
export function consume(value: number): void {
  sink = (sink + value) % 1e9;
}

/** The folded results so far; exists so that the sink is observable. */
export function consumed(): number {
  return sink;
}

/** Monotonic wall time in seconds (never CPU time: stolen time must show). */
export function now(): number {
  return performance.now() / 1000;
}

/** Times one synchronous call of `run(count)` in seconds. */
export function timeRun(run: (count: number) => void, count: number): number {
  const t0 = performance.now();
  run(count);
  return (performance.now() - t0) / 1000;
}

export interface CalibrateOptions {
  /** Never fewer than this many units per trial, however slow the machine. @default 1 */
  readonly min?: number;
  /** First count tried. @default min */
  readonly start?: number;
  /** Never more than this many units per trial. @default 2 ** 40 */
  readonly max?: number;
}

/**
 * Finds how many units of work `run(count)` must do for one call to take about
 * `targetSeconds`: doubles the count until a call lasts a quarter of the target, scales
 * linearly, then re-measures once at a quarter of that count (the JIT has tiered up by
 * then) and scales again, so the interpreter's slow first calls do not shorten trials.
 * The count is a machine property: never record it as a benchmark parameter.
 */
export function calibrate(run: (count: number) => void, targetSeconds: number, options: CalibrateOptions = {}): number {
  const limits = calibrationLimits(targetSeconds, options);
  let count = limits.start;
  let elapsed = timeRun(run, count);
  while (elapsed < limits.threshold && count < limits.max) {
    count = Math.min(limits.max, count * 2);
    elapsed = timeRun(run, count);
  }
  count = limits.scale(count, elapsed);
  const quarter = Math.max(1, Math.round(count / 4));
  if (quarter > 1) count = limits.scale(quarter, timeRun(run, quarter));
  return count;
}

/**
 * `calibrate` for work that is asynchronous or times only part of itself: `run(count)`
 * resolves with the seconds that count (e.g. page-touch time without the allocation).
 */
export async function calibrateAsync(run: (count: number) => Promise<number>, targetSeconds: number, options: CalibrateOptions = {}): Promise<number> {
  const limits = calibrationLimits(targetSeconds, options);
  let count = limits.start;
  let elapsed = await run(count);
  while (elapsed < limits.threshold && count < limits.max) {
    count = Math.min(limits.max, count * 2);
    elapsed = await run(count);
  }
  count = limits.scale(count, elapsed);
  const quarter = Math.max(1, Math.round(count / 4));
  if (quarter > 1) count = limits.scale(quarter, await run(quarter));
  return count;
}

function calibrationLimits(
  targetSeconds: number,
  options: CalibrateOptions,
): {
  max: number;
  start: number;
  threshold: number;
  scale: (count: number, seconds: number) => number;
} {
  const max = options.max ?? 2 ** 40;
  const min = Math.max(1, Math.floor(options.min ?? 1));
  return {
    max,
    start: Math.max(min, Math.floor(options.start ?? min)),
    threshold: targetSeconds / 4,
    scale: (count: number, seconds: number): number => Math.min(max, Math.max(min, Math.round((count * targetSeconds) / Math.max(seconds, 1e-9)))),
  };
}
