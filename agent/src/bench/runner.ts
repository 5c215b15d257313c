// Runs benchmarks with the statistics of docs/architecture.md ("Measure"): warm-up, then
// timed trials until the primary metric is stable or a cap is reached, with steal time and
// clocksource attached; an impossible trial is retried once, then fails its benchmark alone;
// with a precision target, more interleaved passes follow.
import type { SampleFields } from '@guestbench/proto';
import { performance } from 'node:perf_hooks';
import { readClocksource } from '../detect/inventory';
import type { Profile } from '../profiles/profile';
import { getBenchmark } from './registry';
import { mean, relativeHalfWidth, relativeStandardDeviation, shouldStop, type StopReason } from './statistics';
import { readCpuTimes, stealFraction } from './steal-time';
import type { CodeFlag, CodeProblem } from './optimized-code';
import { faultyTrial, type TrialFault } from './trial-fault';
import type { AnyBenchmark, BenchTargets, TrialValues } from './types';

/**
 * What a reader of a sample must know about how its value was obtained.
 * - `not-settled`: the warm-up never reached a steady speed within its budget, so the timed
 *   trials may include code the JIT had not optimized yet (or a machine still ramping up).
 * - `trial-retried`: a trial gave an impossible value and was run again.
 * - `precision-not-reached`: a precision target was set and the interval stayed wider.
 * - `not-optimized`, `optimization-unverified`: see CodeFlag; the sample's notes name the kernel.
 */
export type SampleFlag = 'not-settled' | 'trial-retried' | 'precision-not-reached' | CodeFlag;

/** One metric of one benchmark, summarised over its trials: the protocol's fields but the id, and why the trials stopped. */
export interface MeasuredSample extends Omit<SampleFields, 'id' | 'flags'> {
  /** Relative half-width of the 95 % interval of the mean of the trials (see relativeHalfWidth). */
  readonly halfWidth: number;
  readonly stopReason: StopReason;
  readonly flags: readonly SampleFlag[];
  /** Why a flag was raised, one line each (the agent prints them; the protocol carries the flags). */
  readonly notes?: readonly string[];
}

export type BenchmarkOutcome =
  | { readonly ok: true; readonly benchmarkId: string; readonly samples: readonly MeasuredSample[] }
  | { readonly ok: false; readonly benchmarkId: string; readonly error: Error };

export type RunnerEvent =
  | { readonly type: 'benchmark-start'; readonly benchmarkId: string; readonly index: number; readonly total: number; readonly pass?: number }
  | { readonly type: 'trial'; readonly benchmarkId: string; readonly trial: number; readonly warmup: boolean }
  | { readonly type: 'benchmark-end'; readonly outcome: BenchmarkOutcome; readonly index: number; readonly total: number };

/** `run --precision`: more passes until each primary metric's interval is this narrow. */
export interface PrecisionTarget {
  /** Relative half-width of the 95 % interval, 0.05 = ±5 %. */
  readonly halfWidth: number;
  /** Seconds the extra passes may take in all, over the whole suite. */
  readonly budgetSeconds: number;
}

export interface RunOptions {
  readonly profile: Profile;
  readonly signal?: AbortSignal;
  /** Called on progress; also where the caller streams each finished benchmark's samples. */
  readonly onEvent?: (event: RunnerEvent) => void | Promise<void>;
  /** Root for /proc and /sys reads. @default '/' */
  readonly root?: string;
  /** Network sink and disk folder for the net.* and disk.* benchmarks. */
  readonly targets?: BenchTargets;
  /** Keep measuring until each primary metric is this precise (runSuite only). */
  readonly precision?: PrecisionTarget;
  /** Test-only: trials that give an impossible value (see trial-fault.ts). */
  readonly fault?: TrialFault;
}

/** Two warm-up trials this close (relative) mean the kernel has stopped getting faster. */
const WARMUP_SETTLED = 0.1;
/** Impossible trials tolerated in one pass of a benchmark, each retried once, before it fails. */
const MAX_RETRIES = 3;

export class BenchmarkError extends Error {
  override readonly name = 'BenchmarkError';
  constructor(
    readonly benchmarkId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${benchmarkId}: ${message}`, options);
  }
}

export function isBenchmarkError(err: unknown): err is BenchmarkError {
  return err instanceof BenchmarkError;
}

/** Why a trial's values cannot be true (a time or rate below zero, NaN, infinite), or undefined. */
function impossibility(def: AnyBenchmark, values: TrialValues): string | undefined {
  for (const m of def.metrics) {
    const v = values[m.name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `${String(v)} for metric "${m.name}"`;
  }
  return undefined;
}

/** One pass of a benchmark: its own prepare, warm-up and timed trials. */
interface Pass {
  readonly trials: readonly TrialValues[];
  readonly parameters: Readonly<Record<string, string>>;
  readonly clocksource: string;
  readonly stealFraction: number;
  readonly durationSeconds: number;
  readonly stopReason: StopReason;
  readonly settled: boolean;
  readonly retried: number;
  readonly codeProblems: readonly CodeProblem[];
}

async function runPass(def: AnyBenchmark, options: RunOptions): Promise<Pass> {
  const { profile } = options;
  const root = options.root ?? '/';
  const signal = options.signal ?? new AbortController().signal;
  const settings = def.parseSettings(profile.settings[def.id] ?? {});
  const started = performance.now();
  const prepared = await def.prepare(settings, { profile, signal, targets: options.targets });
  try {
    const primary = def.metrics.find((m) => m.primary) ?? def.metrics[0];
    if (primary === undefined) throw new BenchmarkError(def.id, 'defines no metric');
    const rawTrial = faultyTrial(options.fault, def.id, () => prepared.trial());
    let retried = 0;
    // An impossible value is a disturbance or a flaw of one trial, not a fact about the
    // machine: the trial runs again; a second impossible value in a row, or more than
    // MAX_RETRIES in the pass, fails this benchmark (and only it).
    const trial = async (): Promise<TrialValues> => {
      const values = await rawTrial();
      const first = impossibility(def, values);
      if (first === undefined) return values;
      retried++;
      if (retried > MAX_RETRIES) throw new BenchmarkError(def.id, `impossible trial values ${retried} times in one pass, the last ${first}`);
      const again = await rawTrial();
      const second = impossibility(def, again);
      if (second !== undefined) throw new BenchmarkError(def.id, `trial gave ${first}, and its retry ${second}; expected finite values ≥ 0`);
      return again;
    };

    // Warm-up, not recorded: at least two trials and warmupSeconds; then on while the last two
    // warm-up trials still differ by more than WARMUP_SETTLED (the JIT is still tiering the
    // kernel up, which under emulation can take seconds), up to the benchmark's budget. A
    // warm-up that ends on the budget flags the samples `not-settled`.
    const warmupStart = performance.now();
    let warmups = 0;
    let previous: number | undefined;
    let last: number | undefined;
    const isSettled = (): boolean =>
      previous !== undefined && last !== undefined && Math.abs(last - previous) <= WARMUP_SETTLED * Math.max(Math.abs(last), Math.abs(previous));
    let settled = false;
    for (;;) {
      signal.throwIfAborted();
      const values = await trial();
      previous = last;
      last = values[primary.name];
      warmups++;
      await options.onEvent?.({ type: 'trial', benchmarkId: def.id, trial: warmups, warmup: true });
      const elapsed = (performance.now() - warmupStart) / 1000;
      settled = isSettled();
      if (warmups >= 2 && elapsed >= profile.warmupSeconds && (settled || elapsed >= profile.warmupSeconds + profile.budgetSeconds)) break;
    }

    // Which code the timed trials run: asked before the first and after each, so a kernel
    // still unoptimized when timing starts, or deoptimized on the way, is flagged.
    const codeProblems = new Map<string, CodeProblem>();
    const checkCode = (): void => {
      for (const p of prepared.checkCode?.() ?? []) codeProblems.set(p.note, p);
    };
    checkCode();
    const clocksource = readClocksource(root);
    const cpuBefore = readCpuTimes(root);
    const trials: TrialValues[] = [];
    const trialStart = performance.now();
    let stopReason: StopReason | undefined;
    while (stopReason === undefined) {
      signal.throwIfAborted();
      trials.push(await trial());
      checkCode();
      await options.onEvent?.({ type: 'trial', benchmarkId: def.id, trial: trials.length, warmup: false });
      const primaryValues = trials.map((t) => t[primary.name] as number);
      stopReason = shouldStop(primaryValues, (performance.now() - trialStart) / 1000, profile);
    }
    return {
      trials,
      // A --set override is part of what the number means: the comparison pairs on it.
      parameters: { ...profile.parameterOverrides?.[def.id], ...prepared.parameters },
      clocksource,
      stealFraction: stealFraction(cpuBefore, readCpuTimes(root)),
      durationSeconds: (performance.now() - started) / 1000,
      stopReason,
      settled,
      retried,
      codeProblems: [...codeProblems.values()],
    };
  } finally {
    await prepared.dispose?.();
  }
}

/** The samples of one or more passes of a benchmark: their trials pooled. */
function summarise(def: AnyBenchmark, passes: readonly Pass[], extraFlags: readonly SampleFlag[] = []): MeasuredSample[] {
  const lastPass = passes[passes.length - 1];
  if (lastPass === undefined) throw new BenchmarkError(def.id, 'no pass to summarise');
  const durationSeconds = passes.reduce((sum, p) => sum + p.durationSeconds, 0);
  const steal = passes.reduce((sum, p) => sum + p.stealFraction * p.durationSeconds, 0) / Math.max(durationSeconds, 1e-9);
  const flags: SampleFlag[] = [];
  if (passes.some((p) => !p.settled)) flags.push('not-settled');
  if (passes.some((p) => p.retried > 0)) flags.push('trial-retried');
  const problems = passes.flatMap((p) => p.codeProblems);
  for (const flag of new Set(problems.map((p) => p.flag))) flags.push(flag);
  const notes = [...new Set(problems.map((p) => p.note))];
  flags.push(...extraFlags);
  const finishedAtMs = Date.now();
  return def.metrics.map((m) => {
    const values = passes.flatMap((p) => p.trials.map((t) => t[m.name] as number));
    return {
      benchmarkId: def.id,
      metric: m.name,
      unit: m.unit,
      direction: m.direction,
      primary: m.primary,
      value: mean(values),
      trials: values,
      rsd: relativeStandardDeviation(values),
      halfWidth: relativeHalfWidth(values),
      stealFraction: steal,
      parameters: lastPass.parameters,
      clocksource: lastPass.clocksource,
      durationSeconds,
      finishedAtMs,
      stopReason: lastPass.stopReason,
      flags,
      notes,
    };
  });
}

/** Runs one benchmark: prepare, warm up, timed trials, summary samples. */
export async function runBenchmark(def: AnyBenchmark, options: RunOptions): Promise<MeasuredSample[]> {
  return summarise(def, [await runPass(def, options)]);
}

/** The primary metric's relative half-width over the pooled trials of `passes`. */
function primaryHalfWidth(def: AnyBenchmark, passes: readonly Pass[]): number {
  const primary = def.metrics.find((m) => m.primary) ?? def.metrics[0];
  if (primary === undefined) return Number.POSITIVE_INFINITY;
  return relativeHalfWidth(passes.flatMap((p) => p.trials.map((t) => t[primary.name] as number)));
}

/**
 * Runs every benchmark of the profile in order. A benchmark that fails is reported as a
 * failed outcome and the suite goes on; an abort stops the suite.
 *
 * With a precision target, a benchmark whose primary metric's interval is still wider than
 * the target after its pass is held back; when the suite has gone through, further passes
 * of the held-back benchmarks follow in turn (interleaved, so that a slow drift of the
 * machine reaches them all alike) until each is precise enough or the precision budget is
 * spent. A held-back benchmark's outcome comes when it is done, with its trials pooled;
 * one that never got there is flagged `precision-not-reached`.
 */
export async function runSuite(options: RunOptions): Promise<BenchmarkOutcome[]> {
  const { profile, precision } = options;
  const outcomes: BenchmarkOutcome[] = [];
  const total = profile.benchmarks.length;
  const held = new Map<string, { index: number; passes: Pass[] }>();
  const finish = async (outcome: BenchmarkOutcome, index: number): Promise<void> => {
    outcomes.push(outcome);
    await options.onEvent?.({ type: 'benchmark-end', outcome, index, total });
  };
  const failure = (id: string, err: unknown): BenchmarkOutcome => {
    if (options.signal?.aborted) throw err;
    return { ok: false, benchmarkId: id, error: err instanceof Error ? err : new Error(String(err)) };
  };
  const precise = (def: AnyBenchmark, passes: readonly Pass[]): boolean => precision === undefined || primaryHalfWidth(def, passes) <= precision.halfWidth;

  for (const [index, id] of profile.benchmarks.entries()) {
    options.signal?.throwIfAborted();
    await options.onEvent?.({ type: 'benchmark-start', benchmarkId: id, index, total });
    let outcome: BenchmarkOutcome;
    try {
      const def = getBenchmark(id);
      const pass = await runPass(def, options);
      if (!precise(def, [pass])) {
        held.set(id, { index, passes: [pass] });
        continue;
      }
      outcome = { ok: true, benchmarkId: id, samples: summarise(def, [pass]) };
    } catch (err: unknown) {
      outcome = failure(id, err);
    }
    await finish(outcome, index);
  }

  if (precision !== undefined) {
    const deadline = performance.now() + precision.budgetSeconds * 1000;
    for (let round = 2; held.size > 0 && performance.now() < deadline; round++) {
      for (const [id, entry] of [...held]) {
        if (performance.now() >= deadline) break;
        options.signal?.throwIfAborted();
        const def = getBenchmark(id);
        await options.onEvent?.({ type: 'benchmark-start', benchmarkId: id, index: entry.index, total, pass: round });
        let done = false;
        try {
          const pass = await runPass(def, options);
          // A pass measured another way (its parameters changed) must not be pooled.
          if (canonical(pass.parameters) !== canonical(entry.passes[0]?.parameters ?? {})) done = true;
          else entry.passes.push(pass);
        } catch (err: unknown) {
          // A later pass that fails leaves the earlier passes' trials standing.
          failure(id, err);
          done = true;
        }
        if (done || precise(def, entry.passes)) {
          held.delete(id);
          const flags: SampleFlag[] = precise(def, entry.passes) ? [] : ['precision-not-reached'];
          await finish({ ok: true, benchmarkId: id, samples: summarise(def, entry.passes, flags) }, entry.index);
        }
      }
    }
  }
  for (const [id, entry] of held) {
    await finish({ ok: true, benchmarkId: id, samples: summarise(getBenchmark(id), entry.passes, ['precision-not-reached']) }, entry.index);
  }
  return outcomes;
}

function canonical(parameters: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
