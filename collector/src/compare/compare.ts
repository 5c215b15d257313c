// Compares groups of runs (platform + label) against a baseline group, benchmark by
// benchmark, as DESIGN §4 describes: relative = guest/native for higher-is-better and
// native/guest for lower-is-better, so 1.0 is native and below 1.0 is overhead.
import type { Store } from '../store/store';
import { canonicalParameters, groupKey, type Direction, type EvidenceRecord, type InventoryRecord, type RunRecord, type SampleRecord } from '../model';
import { geometricMean, welchLogRatio } from './statistics';

export interface CompareOptions {
  /** "native" or "platform/label". @default "native" */
  readonly baseline?: string;
  /** Only these groups; all others when empty. */
  readonly groups?: readonly string[];
  /** A metric whose trials' RSD is above this on either side is flagged noisy. @default 0.05 */
  readonly noisyRsd?: number;
  /** A share of stolen CPU time above this on either side is flagged steal. @default 0.01 */
  readonly stealThreshold?: number;
  /** Which runs count. @default every finished run */
  readonly filter?: CompareFilter;
}

/**
 * Host and time narrow every group, the baseline included (compare like with like); platform
 * and label choose the groups compared, while the baseline stays to compare against.
 */
export interface CompareFilter {
  readonly platform?: string;
  readonly label?: string;
  readonly hostname?: string;
  /** Runs started at or after this time (unix ms). */
  readonly since?: number;
  /** Runs started at or before this time (unix ms). */
  readonly until?: number;
}

/** Whether the group of `run` is shown: the baseline always, others as `groups` and `filter` choose. */
export function groupSelected(run: Pick<RunRecord, 'platform' | 'label'>, baselineKey: string, options: Pick<CompareOptions, 'groups' | 'filter'>): boolean {
  const key = groupKey(run.platform, run.label);
  if (key === baselineKey) return true;
  const f = options.filter ?? {};
  if (f.platform !== undefined && run.platform !== f.platform) return false;
  if (f.label !== undefined && run.label !== f.label) return false;
  if (options.groups === undefined || options.groups.length === 0) return true;
  return options.groups.some((g) => {
    const p = parseGroupSpec(g);
    return groupKey(p.platform, p.label) === key;
  });
}

export type Flag = 'noisy' | 'steal' | 'no-baseline';

export interface BenchmarkRow {
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: Direction;
  readonly primary: boolean;
  readonly parameters: string;
  readonly agentMajor: string;
  /** Geometric mean of the group's trials. */
  readonly groupValue: number;
  readonly baselineValue: number | undefined;
  readonly relative: number | undefined;
  readonly ciLow: number | undefined;
  readonly ciHigh: number | undefined;
  readonly groupTrials: number;
  readonly baselineTrials: number;
  readonly groupRuns: number;
  readonly baselineRuns: number;
  readonly groupRsd: number;
  readonly baselineRsd: number;
  readonly groupSteal: number;
  readonly flags: readonly Flag[];
}

export interface CategoryRow {
  readonly category: string;
  readonly geomean: number | undefined;
  /** How many primary metrics with a relative value went into it. */
  readonly benchmarks: number;
}

export interface GroupResult {
  readonly key: string;
  readonly platform: string;
  readonly label: string;
  readonly isBaseline: boolean;
  readonly runIds: readonly string[];
  readonly hostnames: readonly string[];
  readonly inventory: InventoryRecord;
  readonly evidence: readonly EvidenceRecord[];
  readonly benchmarks: readonly BenchmarkRow[];
  readonly categories: readonly CategoryRow[];
  /** Geometric mean of the category means, so each category weighs the same. */
  readonly overallGeomean: number | undefined;
}

export interface CompareResult {
  readonly baseline: string;
  readonly baselineRunIds: readonly string[];
  readonly groups: readonly GroupResult[];
}

/** Runs whose samples count: every run that has ended (a running run is not finished yet). */
const FINISHED = ['completed', 'failed', 'lost', 'cancelled'] as const;

function agentMajor(version: string): string {
  return version.split('.')[0] ?? version;
}

interface Cell {
  benchmarkId: string;
  metric: string;
  unit: string;
  direction: Direction;
  primary: boolean;
  parameters: string;
  agentMajor: string;
  samples: SampleRecord[];
}

function cellKey(s: SampleRecord, major: string): string {
  return JSON.stringify([s.benchmarkId, s.metric, s.unit, s.direction, canonicalParameters(s.parameters), major]);
}

function collectCells(samples: readonly SampleRecord[], runsById: ReadonlyMap<string, RunRecord>): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  for (const s of samples) {
    const major = agentMajor(runsById.get(s.runId)?.agentVersion ?? '');
    const key = cellKey(s, major);
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = {
        benchmarkId: s.benchmarkId, metric: s.metric, unit: s.unit, direction: s.direction, primary: s.primary,
        parameters: canonicalParameters(s.parameters), agentMajor: major, samples: [],
      };
      cells.set(key, cell);
    }
    cell.samples.push(s);
  }
  return cells;
}

/**
 * The observations of one side. With two or more runs on both sides, each run's value is
 * one observation, so the interval covers run-to-run variation; with a single run on a
 * side, its trials are the observations (the interval then covers trial-to-trial noise
 * only, which is all there is to go on).
 */
function observations(cell: Cell, perRun: boolean): number[] {
  return perRun ? cell.samples.map((s) => s.value) : cell.samples.flatMap((s) => s.trials);
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function compareCell(group: Cell, baseline: Cell | undefined, options: Required<Omit<CompareOptions, 'baseline' | 'groups' | 'filter'>>): BenchmarkRow {
  const groupRuns = distinct(group.samples.map((s) => s.runId)).length;
  const groupRsd = Math.max(...group.samples.map((s) => s.rsd));
  const groupSteal = Math.max(...group.samples.map((s) => s.stealFraction));
  const groupTrials = group.samples.reduce((n, s) => n + s.trials.length, 0);
  const flags: Flag[] = [];
  const base = {
    benchmarkId: group.benchmarkId, metric: group.metric, unit: group.unit, direction: group.direction, primary: group.primary,
    parameters: group.parameters, agentMajor: group.agentMajor, groupRuns, groupRsd, groupSteal, groupTrials,
  };
  if (baseline === undefined) {
    if (groupRsd > options.noisyRsd) flags.push('noisy');
    if (groupSteal > options.stealThreshold) flags.push('steal');
    flags.push('no-baseline');
    const own = observations(group, false);
    const ownValue = geometricMean(own) ?? mean(own);
    return {
      ...base, groupValue: ownValue, baselineValue: undefined, relative: undefined, ciLow: undefined, ciHigh: undefined,
      baselineTrials: 0, baselineRuns: 0, baselineRsd: 0, flags,
    };
  }
  const baselineRuns = distinct(baseline.samples.map((s) => s.runId)).length;
  const baselineRsd = Math.max(...baseline.samples.map((s) => s.rsd));
  const baselineSteal = Math.max(...baseline.samples.map((s) => s.stealFraction));
  if (groupRsd > options.noisyRsd || baselineRsd > options.noisyRsd) flags.push('noisy');
  if (groupSteal > options.stealThreshold || baselineSteal > options.stealThreshold) flags.push('steal');
  const perRun = groupRuns >= 2 && baselineRuns >= 2;
  const g = observations(group, perRun);
  const b = observations(baseline, perRun);
  // A zero (e.g. no failed requests) cannot be ratioed; such a metric is shown, not ratioed.
  const ratioable = g.every((v) => v > 0) && b.every((v) => v > 0);
  const groupValue = geometricMean(g) ?? mean(g);
  const baselineValue = geometricMean(b) ?? mean(b);
  let relative: number | undefined;
  let ciLow: number | undefined;
  let ciHigh: number | undefined;
  if (ratioable) {
    // guest/native for higher-is-better; native/guest for lower-is-better.
    const est = group.direction === 'higher' ? welchLogRatio(g, b) : welchLogRatio(b, g);
    relative = est.ratio;
    ciLow = est.low;
    ciHigh = est.high;
  }
  return {
    ...base, groupValue, baselineValue, relative, ciLow, ciHigh,
    baselineTrials: baseline.samples.reduce((n, s) => n + s.trials.length, 0), baselineRuns, baselineRsd, flags,
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function categoryOf(benchmarkId: string): string {
  const dot = benchmarkId.indexOf('.');
  return dot < 0 ? benchmarkId : benchmarkId.slice(0, dot);
}

function summarize(rows: readonly BenchmarkRow[]): { categories: CategoryRow[]; overall: number | undefined } {
  const byCategory = new Map<string, number[]>();
  for (const r of rows) {
    const list = byCategory.get(categoryOf(r.benchmarkId)) ?? [];
    if (r.primary && r.relative !== undefined) list.push(r.relative);
    byCategory.set(categoryOf(r.benchmarkId), list);
  }
  const categories = [...byCategory.entries()].map(([category, values]) => ({
    category,
    geomean: geometricMean(values),
    benchmarks: values.length,
  }));
  const overall = geometricMean(categories.flatMap((c) => (c.geomean === undefined ? [] : [c.geomean])));
  return { categories, overall };
}

/** Parses "platform" or "platform/label" into a group key (the label may itself hold slashes). */
export function parseGroupSpec(spec: string): { platform: string; label: string } {
  const slash = spec.indexOf('/');
  return slash < 0 ? { platform: spec, label: '' } : { platform: spec.slice(0, slash), label: spec.slice(slash + 1) };
}

export async function compare(store: Store, options: CompareOptions = {}): Promise<CompareResult> {
  const baselineSpec = options.baseline ?? 'native';
  const resolved = { noisyRsd: options.noisyRsd ?? 0.05, stealThreshold: options.stealThreshold ?? 0.01 };
  const baselineGroup = parseGroupSpec(baselineSpec);
  const baselineKey = groupKey(baselineGroup.platform, baselineGroup.label);
  const f = options.filter ?? {};
  const runs = await store.listRuns({ statuses: FINISHED, hostname: f.hostname, since: f.since, until: f.until });
  const runsById = new Map(runs.map((r) => [r.id, r]));
  const byGroup = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = groupKey(r.platform, r.label);
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  const baselineRuns = byGroup.get(baselineKey) ?? [];
  const baselineCells = collectCells(await store.getSamples(baselineRuns.map((r) => r.id)), runsById);
  const results: GroupResult[] = [];
  const keys = [...byGroup.keys()].sort((a, b) => (a === baselineKey ? -1 : b === baselineKey ? 1 : a < b ? -1 : 1));
  for (const key of keys) {
    const groupRuns = byGroup.get(key) ?? [];
    const newest = groupRuns[0] as RunRecord; // listRuns is newest first
    if (!groupSelected(newest, baselineKey, options)) continue;
    const cells = collectCells(await store.getSamples(groupRuns.map((r) => r.id)), runsById);
    const rows = [...cells.entries()].map(([k, cell]) => compareCell(cell, baselineCells.get(k), resolved));
    rows.sort((a, b) => (a.benchmarkId === b.benchmarkId ? (a.metric < b.metric ? -1 : 1) : a.benchmarkId < b.benchmarkId ? -1 : 1));
    const { categories, overall } = summarize(rows);
    results.push({
      key,
      platform: newest.platform,
      label: newest.label,
      isBaseline: key === baselineKey,
      runIds: groupRuns.map((r) => r.id),
      hostnames: distinct(groupRuns.map((r) => r.hostname)),
      inventory: newest.inventory,
      evidence: newest.evidence,
      benchmarks: rows,
      categories,
      overallGeomean: overall,
    });
  }
  return { baseline: baselineKey, baselineRunIds: baselineRuns.map((r) => r.id), groups: results };
}
