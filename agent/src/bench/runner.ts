// Runs benchmarks with the statistics of docs/architecture.md ("Measure"): warm-up, then
// timed trials until the primary metric is stable or a cap is reached, with steal time and
// clocksource attached.
import type { SampleFields } from '@guestbench/proto';
import { performance } from 'node:perf_hooks';
import { readClocksource } from '../detect/inventory';
import type { Profile } from '../profiles/profile';
import { getBenchmark } from './registry';
import { mean, relativeStandardDeviation, shouldStop, type StopReason } from './statistics';
import { readCpuTimes, stealFraction } from './steal-time';
import type { AnyBenchmark, BenchTargets, TrialValues } from './types';

/** One metric of one benchmark, summarised over its trials: the protocol's fields but the id, and why the trials stopped. */
export interface MeasuredSample extends Omit<SampleFields, 'id'> {
  readonly stopReason: StopReason;
}

export type BenchmarkOutcome =
  | { readonly ok: true; readonly benchmarkId: string; readonly samples: readonly MeasuredSample[] }
  | { readonly ok: false; readonly benchmarkId: string; readonly error: Error };

export type RunnerEvent =
  | { readonly type: 'benchmark-start'; readonly benchmarkId: string; readonly index: number; readonly total: number }
  | { readonly type: 'trial'; readonly benchmarkId: string; readonly trial: number; readonly warmup: boolean }
  | { readonly type: 'benchmark-end'; readonly outcome: BenchmarkOutcome; readonly index: number; readonly total: number };

export interface RunOptions {
  readonly profile: Profile;
  readonly signal?: AbortSignal;
  /** Called on progress; also where the caller streams each finished benchmark's samples. */
  readonly onEvent?: (event: RunnerEvent) => void | Promise<void>;
  /** Root for /proc and /sys reads. @default '/' */
  readonly root?: string;
  /** Network sink and disk folder for the net.* and disk.* benchmarks. */
  readonly targets?: BenchTargets;
}

/** Two warm-up trials this close (relative) mean the kernel has stopped getting faster. */
const WARMUP_SETTLED = 0.1;

export class BenchmarkError extends Error {
  override readonly name = 'BenchmarkError';
  constructor(readonly benchmarkId: string, message: string, options?: { cause?: unknown }) {
    super(`${benchmarkId}: ${message}`, options);
  }
}

export function isBenchmarkError(err: unknown): err is BenchmarkError {
  return err instanceof BenchmarkError;
}

function checkTrial(def: AnyBenchmark, values: TrialValues): void {
  for (const m of def.metrics) {
    const v = values[m.name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new BenchmarkError(def.id, `trial gave ${String(v)} for metric "${m.name}"; expected a finite value ≥ 0`);
    }
  }
}

/** Runs one benchmark: prepare, warm up, timed trials, summary samples. */
export async function runBenchmark(def: AnyBenchmark, options: RunOptions): Promise<MeasuredSample[]> {
  const { profile } = options;
  const root = options.root ?? '/';
  const signal = options.signal ?? new AbortController().signal;
  const settings = def.parseSettings(profile.settings[def.id] ?? {});
  const started = performance.now();
  const prepared = await def.prepare(settings, { profile, signal, targets: options.targets });
  try {
    const primary = def.metrics.find((m) => m.primary) ?? def.metrics[0];
    if (primary === undefined) throw new BenchmarkError(def.id, 'defines no metric');

    // Warm-up, not recorded: at least two trials and warmupSeconds; then on while the last two
    // warm-up trials still differ by more than WARMUP_SETTLED (the JIT is still tiering the
    // kernel up, which under emulation can take seconds), up to the benchmark's budget.
    const warmupStart = performance.now();
    let warmups = 0;
    let previous: number | undefined;
    let last: number | undefined;
    const settled = (): boolean => previous !== undefined && last !== undefined && Math.abs(last - previous) <= WARMUP_SETTLED * Math.max(Math.abs(last), Math.abs(previous));
    for (;;) {
      signal.throwIfAborted();
      const values = await prepared.trial();
      checkTrial(def, values);
      previous = last;
      last = values[primary.name];
      warmups++;
      await options.onEvent?.({ type: 'trial', benchmarkId: def.id, trial: warmups, warmup: true });
      const elapsed = (performance.now() - warmupStart) / 1000;
      if (warmups >= 2 && elapsed >= profile.warmupSeconds && (settled() || elapsed >= profile.warmupSeconds + profile.budgetSeconds)) break;
    }

    const clocksource = readClocksource(root);
    const cpuBefore = readCpuTimes(root);
    const trials: TrialValues[] = [];
    const trialStart = performance.now();
    let stopReason: StopReason | undefined;
    while (stopReason === undefined) {
      signal.throwIfAborted();
      const values = await prepared.trial();
      checkTrial(def, values);
      trials.push(values);
      await options.onEvent?.({ type: 'trial', benchmarkId: def.id, trial: trials.length, warmup: false });
      const primaryValues = trials.map((t) => t[primary.name] as number);
      stopReason = shouldStop(primaryValues, (performance.now() - trialStart) / 1000, profile);
    }
    const steal = stealFraction(cpuBefore, readCpuTimes(root));
    const durationSeconds = (performance.now() - started) / 1000;
    const finishedAtMs = Date.now();
    return def.metrics.map((m) => {
      const values = trials.map((t) => t[m.name] as number);
      return {
        benchmarkId: def.id,
        metric: m.name,
        unit: m.unit,
        direction: m.direction,
        primary: m.primary,
        value: mean(values),
        trials: values,
        rsd: relativeStandardDeviation(values),
        stealFraction: steal,
        parameters: { ...profile.parameterOverrides?.[def.id], ...prepared.parameters },
        clocksource,
        durationSeconds,
        finishedAtMs,
        stopReason: stopReason as StopReason,
      };
    });
  } finally {
    await prepared.dispose?.();
  }
}

/**
 * Runs every benchmark of the profile in order. A benchmark that fails is reported as a
 * failed outcome and the suite goes on; an abort stops the suite.
 */
export async function runSuite(options: RunOptions): Promise<BenchmarkOutcome[]> {
  const { profile } = options;
  const outcomes: BenchmarkOutcome[] = [];
  const total = profile.benchmarks.length;
  for (const [index, id] of profile.benchmarks.entries()) {
    options.signal?.throwIfAborted();
    await options.onEvent?.({ type: 'benchmark-start', benchmarkId: id, index, total });
    let outcome: BenchmarkOutcome;
    try {
      const samples = await runBenchmark(getBenchmark(id), options);
      outcome = { ok: true, benchmarkId: id, samples };
    } catch (err: unknown) {
      if (options.signal?.aborted) throw err;
      const error = err instanceof Error ? err : new Error(String(err));
      outcome = { ok: false, benchmarkId: id, error };
    }
    outcomes.push(outcome);
    await options.onEvent?.({ type: 'benchmark-end', outcome, index, total });
  }
  return outcomes;
}
