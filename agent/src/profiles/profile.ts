// Profiles choose durations, trial counts and sizes. They are data (profiles.json, or a
// file of the same shape given to --profile); this file parses and checks them, once,
// before any benchmark starts. Which benchmarks a built-in profile runs is declared by each
// benchmark (its `profiles`), so adding one touches no profile data.
import fs from 'node:fs';
import path from 'node:path';
import { PROFILE_NAMES } from '@guestbench/proto';
import builtinProfiles from './profiles.json';

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** Seconds of untimed warm-up per benchmark (at least one warm-up trial always runs). */
  readonly warmupSeconds: number;
  /** Target length of one timed trial; kernels calibrate their work to it. */
  readonly trialSeconds: number;
  /** At least this many trials (never below 3). */
  readonly minTrials: number;
  /** Trials stop here even when the RSD is still above the threshold. */
  readonly maxTrials: number;
  /** More trials while the primary metric's relative standard deviation is above this. */
  readonly rsdThreshold: number;
  /** Time budget for one benchmark's timed trials, in seconds; minTrials always run. */
  readonly budgetSeconds: number;
  /**
   * When set, `runSuite` adds interleaved passes until each primary metric's 95 % interval
   * half-width (relative, 0.05 = ±5 %) is at most this, within precisionBudgetSeconds.
   */
  readonly precision?: number;
  /** Seconds the precision passes may take in all. @default 600 */
  readonly precisionBudgetSeconds?: number;
  /** Which benchmarks run, in order. */
  readonly benchmarks: readonly string[];
  /** Per-benchmark settings, parsed by each benchmark's parseSettings. */
  readonly settings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Settings changed by --set, by benchmark: the runner adds them to the samples' parameters
   * (where the benchmark does not record them already), so the comparison keeps them apart.
   */
  readonly parameterOverrides?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isProfileError(err: unknown): err is ProfileError {
  return err instanceof ProfileError;
}

/** How long precision passes may take when the profile does not say. */
export const DEFAULT_PRECISION_BUDGET_SECONDS = 600;

function positiveNumber(obj: Record<string, unknown>, key: string, where: string, min = 0): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min) {
    throw new ProfileError(`${where}: "${key}" must be a finite number above ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function integerAtLeast(obj: Record<string, unknown>, key: string, where: string, min: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ProfileError(`${where}: "${key}" must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What loading a profile needs to know of a registered benchmark. */
export interface BenchmarkMembership {
  readonly id: string;
  /** The built-in profiles the benchmark runs in. */
  readonly profiles: readonly string[];
}

/**
 * Parses one profile object. `knownBenchmarks` are the registered ids; naming any other
 * id, in the list or in the settings, is an error. Without a "benchmarks" list, every
 * known benchmark runs. `where` names the profile in messages.
 */
export function parseProfile(name: string, raw: unknown, knownBenchmarks: readonly string[], where = `profile "${name}"`): Profile {
  if (!isRecord(raw)) throw new ProfileError(`${where} must be an object`);
  const known = new Set([
    'description',
    'warmupSeconds',
    'trialSeconds',
    'minTrials',
    'maxTrials',
    'rsdThreshold',
    'budgetSeconds',
    'benchmarks',
    'settings',
    'precision',
    'precisionBudgetSeconds',
  ]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new ProfileError(`${where}: unknown key "${key}" (known: ${[...known].join(', ')})`);
  }
  const minTrials = integerAtLeast(raw, 'minTrials', where, 3);
  const maxTrials = integerAtLeast(raw, 'maxTrials', where, minTrials);
  const rsdThreshold = positiveNumber(raw, 'rsdThreshold', where);
  if (rsdThreshold >= 1) throw new ProfileError(`${where}: "rsdThreshold" is a fraction (0.03 = 3%), got ${rsdThreshold}`);
  const benchmarks = raw['benchmarks'] ?? knownBenchmarks;
  if (!Array.isArray(benchmarks) || benchmarks.length === 0 || !benchmarks.every((b): b is string => typeof b === 'string')) {
    throw new ProfileError(`${where}: "benchmarks" must be a non-empty list of benchmark ids`);
  }
  const knownSet = new Set(knownBenchmarks);
  for (const id of benchmarks) {
    if (!knownSet.has(id)) throw new ProfileError(`${where}: unknown benchmark "${id}" (known: ${knownBenchmarks.join(', ')})`);
  }
  const settingsRaw = raw['settings'] ?? {};
  if (!isRecord(settingsRaw)) throw new ProfileError(`${where}: "settings" must be an object keyed by benchmark id`);
  const settings: Record<string, Record<string, unknown>> = {};
  for (const [id, value] of Object.entries(settingsRaw)) {
    if (!knownSet.has(id)) throw new ProfileError(`${where}: settings for unknown benchmark "${id}"`);
    if (!isRecord(value)) throw new ProfileError(`${where}: settings of "${id}" must be an object`);
    settings[id] = value;
  }
  const description = typeof raw['description'] === 'string' ? raw['description'] : '';
  const precision = raw['precision'] === undefined ? undefined : positiveNumber(raw, 'precision', where);
  if (precision !== undefined && precision >= 1) throw new ProfileError(`${where}: "precision" is a fraction (0.05 = ±5%), got ${precision}`);
  return {
    name,
    description,
    warmupSeconds: positiveNumber(raw, 'warmupSeconds', where),
    trialSeconds: positiveNumber(raw, 'trialSeconds', where),
    minTrials,
    maxTrials,
    rsdThreshold,
    budgetSeconds: positiveNumber(raw, 'budgetSeconds', where),
    ...(precision === undefined ? {} : { precision }),
    precisionBudgetSeconds:
      raw['precisionBudgetSeconds'] === undefined ? DEFAULT_PRECISION_BUDGET_SECONDS : positiveNumber(raw, 'precisionBudgetSeconds', where),
    benchmarks,
    settings,
  };
}

/** Names of the built-in profiles, in order of growing length: the protocol's list, which profiles.json defines. */
export { PROFILE_NAMES };

/** The benchmarks that declare `profileName`, in registry order. */
export function profileMembers(profileName: string, registered: readonly BenchmarkMembership[]): string[] {
  return registered.filter((b) => b.profiles.includes(profileName)).map((b) => b.id);
}

/** A --profile value that names a file rather than a built-in profile. */
export function isProfileFile(value: string): boolean {
  return value.includes('/') || value.endsWith('.json');
}

/**
 * Looks up and parses a built-in profile (its benchmarks: those of `registered` that declare
 * it), or reads a profile file when `name` is a path (see isProfileFile). An unknown name is a
 * ProfileError listing the known ones.
 */
export function loadProfile(name: string, registered: readonly BenchmarkMembership[]): Profile {
  const ids = registered.map((b) => b.id);
  if (isProfileFile(name)) return readProfileFile(name, ids);
  const raw = (builtinProfiles as Record<string, unknown>)[name];
  if (raw === undefined || !(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new ProfileError(`unknown profile "${name}" (known: ${PROFILE_NAMES.join(', ')}, or a file such as ./mine.json)`);
  }
  return parseProfile(name, { ...(raw as Record<string, unknown>), benchmarks: profileMembers(name, registered) }, ids);
}

/** A profile file: the shape of one entry of profiles.json, "benchmarks" optional. */
export function readProfileFile(file: string, knownBenchmarks: readonly string[]): Profile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err: unknown) {
    throw new ProfileError(`--profile: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    throw new ProfileError(`profile file ${file}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const name = `file:${path.basename(file).replace(/\.json$/, '')}`;
  return parseProfile(name, raw, knownBenchmarks, `profile file ${file}`);
}
