// The contract between the benchmark runner and each benchmark. Adding a benchmark is one
// file that exports a BenchmarkDefinition and one line in registry.ts.
import type { Profile } from '../profiles/profile';
import type { ProfileName } from '../profiles/profile-names';
import type { WebTargets } from '../web/pages';
import type { CodeProblem } from './optimized-code';

/** Whether a larger value of a metric is better (throughput) or worse (latency). */
export type Direction = 'higher' | 'lower';

export interface MetricSpec {
  /** Name within the benchmark, e.g. "throughput", "p99". */
  readonly name: string;
  /** e.g. "Mops/s", "ns", "GB/s". */
  readonly unit: string;
  readonly direction: Direction;
  /** The benchmark's main metric: the one the geometric means use. One per benchmark. */
  readonly primary: boolean;
}

/** The latency percentiles a benchmark reports beside its main metric: p50 and p99, in `unit`. */
export function latencyPercentiles(unit: string): readonly MetricSpec[] {
  return [
    { name: 'p50', unit, direction: 'lower', primary: false },
    { name: 'p99', unit, direction: 'lower', primary: false },
  ];
}

/** What a timed trial measured: one finite value per metric name. */
export type TrialValues = Readonly<Record<string, number>>;

export interface BenchContext {
  readonly profile: Profile;
  /** Aborted when the run is interrupted; long trials should check it. */
  readonly signal: AbortSignal;
  /** Where the disk and network benchmarks work; absent means their own defaults. */
  readonly targets?: BenchTargets;
}

/** Places outside the agent's process that some benchmarks measure against. */
export interface BenchTargets {
  /** HOST:PORT of a sink/echo endpoint (the collector's, or `guestbench-agent serve-net`). */
  readonly netSink?: string;
  /** Folder for the disk benchmarks' test files. */
  readonly diskDir?: string;
  /** Web pages on a server already in the guest (--web-target); absent means the agent's own server. */
  readonly webTargets?: WebTargets;
  /** What drives the web benchmarks' load. @default 'builtin' */
  readonly loadGenerator?: 'builtin' | 'ab';
}

export interface PreparedBenchmark {
  /**
   * One timed trial, timed with the monotonic clock by the benchmark itself (wall time,
   * so that stolen time shows). Returns a value for every metric of the definition.
   */
  trial(): Promise<TrialValues>;
  /**
   * Sizes and modes the values depend on, recorded in each sample; the collector pairs
   * guest and native samples only when these are equal. Never include calibrated
   * iteration counts here: they differ between machines while the work per op does not.
   */
  readonly parameters: Readonly<Record<string, string>>;
  /**
   * What is wrong with the code the trials run, if anything (a kernel V8 has not optimized);
   * the runner asks before the first timed trial and after each, and flags the samples.
   */
  checkCode?(): readonly CodeProblem[];
  /** Frees buffers, removes files, stops helpers. Called also when a trial failed. */
  dispose?(): Promise<void>;
}

export interface BenchmarkDefinition<Settings = unknown> {
  /** category.name, e.g. "cpu.int32". */
  readonly id: string;
  /** One line for --help and the docs. */
  readonly description: string;
  /** The built-in profiles this benchmark runs in (usually EVERY_PROFILE); at least one. */
  readonly profiles: readonly ProfileName[];
  readonly metrics: readonly MetricSpec[];
  /**
   * Turns the profile's untyped settings for this benchmark into typed settings.
   * Throws ProfileError naming the bad key and what would be right.
   */
  parseSettings(raw: Readonly<Record<string, unknown>>): Settings;
  /** Allocates, calibrates and returns something that runs trials. */
  prepare(settings: Settings, context: BenchContext): Promise<PreparedBenchmark>;
}

/** Erases the settings type so definitions of different settings share one registry. */
export type AnyBenchmark = BenchmarkDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
