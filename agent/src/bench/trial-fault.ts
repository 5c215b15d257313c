// A test-only hook that makes a benchmark's trials report an impossible value, so tests of
// real agent processes can show what a bad trial does to a run. Set by the environment
// variable GUESTBENCH_TEST_IMPOSSIBLE_TRIAL; never set in production.
import type { TrialValues } from './types';

export const TRIAL_FAULT_ENV = 'GUESTBENCH_TEST_IMPOSSIBLE_TRIAL';

/** Which benchmark's trials come out as NaN, and how many of them (from the first on). */
export interface TrialFault {
  readonly benchmarkId: string;
  /** Trials spoiled, warm-up trials included; Infinity for every one. */
  readonly trials: number;
}

export class TrialFaultError extends Error {
  override readonly name = 'TrialFaultError';
}

/**
 * Parses `BENCHMARK` (every trial of it) or `BENCHMARK:N` (its first N trials). Undefined
 * when the variable is unset or empty; a malformed value is an error naming the variable.
 */
export function parseTrialFault(value: string | undefined, knownBenchmarks: readonly string[]): TrialFault | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^([a-z0-9_]+\.[a-z0-9_]+)(?::(\d+))?$/.exec(value);
  const benchmarkId = match?.[1];
  if (match === null || benchmarkId === undefined) {
    throw new TrialFaultError(`${TRIAL_FAULT_ENV}: BENCHMARK or BENCHMARK:COUNT (e.g. sys.clock:1), got ${JSON.stringify(value.slice(0, 60))}`);
  }
  if (!knownBenchmarks.includes(benchmarkId)) {
    throw new TrialFaultError(`${TRIAL_FAULT_ENV}: unknown benchmark "${benchmarkId}" (known: ${knownBenchmarks.join(', ')})`);
  }
  const trials = match[2] === undefined ? Number.POSITIVE_INFINITY : Number(match[2]);
  if (trials < 1) throw new TrialFaultError(`${TRIAL_FAULT_ENV}: COUNT must be at least 1, got ${trials}`);
  return { benchmarkId, trials };
}

/** Wraps a benchmark's trial so that the fault's first trials give NaN for every metric. */
export function faultyTrial(fault: TrialFault | undefined, benchmarkId: string, trial: () => Promise<TrialValues>): () => Promise<TrialValues> {
  if (fault === undefined || fault.benchmarkId !== benchmarkId) return trial;
  let spoiled = 0;
  return async () => {
    const values = await trial();
    if (spoiled >= fault.trials) return values;
    spoiled++;
    return Object.fromEntries(Object.keys(values).map((k) => [k, Number.NaN]));
  };
}
