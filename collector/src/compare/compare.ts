// Compares groups of runs (platform + label) against a baseline group, benchmark by
// benchmark, as docs/architecture.md ("Compare") describes: relative = guest/native for higher-is-better and
// native/guest for lower-is-better, so 1.0 is native and below 1.0 is overhead.
import type { CellAggregate, Store } from '../store/store';
import { categoryOf, splitGroupKey } from '@guestbench/proto';
import { EMPTY_INVENTORY, groupKey, type Direction, type EvidenceRecord, type InventoryRecord, type RunRecord } from '../model';
import { geometricMean, momentsFromSums, welchFromMoments, type LogMoments } from './statistics';

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

function cellKey(c: Pick<CellAggregate, 'benchmarkId' | 'metric' | 'unit' | 'direction' | 'parameters' | 'agentMajor'>): string {
  return JSON.stringify([c.benchmarkId, c.metric, c.unit, c.direction, c.parameters, c.agentMajor]);
}

/**
 * One side's observations, as log moments. With two or more runs on both sides, each run's
 * value is one observation, so the interval covers run-to-run variation; with a single run
 * on a side, its trials are the observations (the interval then covers trial-to-trial noise
 * only, which is all there is to go on).
 */
function side(cell: CellAggregate, perRun: boolean): { moments: LogMoments; positive: boolean; arithmeticMean: number; trials: number } {
  return perRun
    ? { moments: momentsFromSums(cell.valueN, cell.valueLogSum, cell.valueLogSumSq), positive: cell.valueMin > 0, arithmeticMean: cell.valueSum / cell.valueN, trials: cell.trialN }
    : { moments: momentsFromSums(cell.trialN, cell.trialLogSum, cell.trialLogSumSq), positive: cell.trialMin > 0, arithmeticMean: cell.trialSum / cell.trialN, trials: cell.trialN };
}

/** The geometric mean when every observation is positive, else the arithmetic one. */
function typical(s: ReturnType<typeof side>): number {
  return s.positive ? Math.exp(s.moments.mean) : s.arithmeticMean;
}

function compareCell(group: CellAggregate, baseline: CellAggregate | undefined, options: Required<Omit<CompareOptions, 'baseline' | 'groups' | 'filter'>>): BenchmarkRow {
  const flags: Flag[] = [];
  const base = {
    benchmarkId: group.benchmarkId, metric: group.metric, unit: group.unit, direction: group.direction, primary: group.primary,
    parameters: group.parameters, agentMajor: group.agentMajor, groupRuns: group.runs, groupRsd: group.maxRsd, groupSteal: group.maxSteal,
    groupTrials: group.trialN,
  };
  if (baseline === undefined) {
    if (group.maxRsd > options.noisyRsd) flags.push('noisy');
    if (group.maxSteal > options.stealThreshold) flags.push('steal');
    flags.push('no-baseline');
    return {
      ...base, groupValue: typical(side(group, false)), baselineValue: undefined, relative: undefined, ciLow: undefined, ciHigh: undefined,
      baselineTrials: 0, baselineRuns: 0, baselineRsd: 0, flags,
    };
  }
  if (group.maxRsd > options.noisyRsd || baseline.maxRsd > options.noisyRsd) flags.push('noisy');
  if (group.maxSteal > options.stealThreshold || baseline.maxSteal > options.stealThreshold) flags.push('steal');
  const perRun = group.runs >= 2 && baseline.runs >= 2;
  const g = side(group, perRun);
  const b = side(baseline, perRun);
  let relative: number | undefined;
  let ciLow: number | undefined;
  let ciHigh: number | undefined;
  // A zero (e.g. no failed requests) cannot be ratioed; such a metric is shown, not ratioed.
  if (g.positive && b.positive) {
    // guest/native for higher-is-better; native/guest for lower-is-better.
    const est = group.direction === 'higher' ? welchFromMoments(g.moments, b.moments) : welchFromMoments(b.moments, g.moments);
    relative = est.ratio;
    ciLow = est.low;
    ciHigh = est.high;
  }
  return {
    ...base, groupValue: typical(g), baselineValue: typical(b), relative, ciLow, ciHigh,
    baselineTrials: baseline.trialN, baselineRuns: baseline.runs, baselineRsd: baseline.maxRsd, flags,
  };
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
export const parseGroupSpec = splitGroupKey;

export async function compare(store: Store, options: CompareOptions = {}): Promise<CompareResult> {
  const baselineSpec = options.baseline ?? 'native';
  const resolved = { noisyRsd: options.noisyRsd ?? 0.05, stealThreshold: options.stealThreshold ?? 0.01 };
  const baselineGroup = parseGroupSpec(baselineSpec);
  const baselineKey = groupKey(baselineGroup.platform, baselineGroup.label);
  const f = options.filter ?? {};
  const narrow = { hostname: f.hostname, since: f.since, until: f.until };
  const [groups, cells] = await Promise.all([store.groupRuns(narrow), store.aggregateCells(narrow)]);
  const cellsByGroup = new Map<string, Map<string, CellAggregate>>();
  for (const c of cells) {
    const key = groupKey(c.platform, c.label);
    const m = cellsByGroup.get(key) ?? new Map<string, CellAggregate>();
    m.set(cellKey(c), c);
    cellsByGroup.set(key, m);
  }
  const baselineRuns = groups.find((g) => groupKey(g.platform, g.label) === baselineKey);
  const baselineCells = cellsByGroup.get(baselineKey) ?? new Map<string, CellAggregate>();
  const results: GroupResult[] = [];
  const sorted = [...groups].sort((a, b) => {
    const ka = groupKey(a.platform, a.label);
    const kb = groupKey(b.platform, b.label);
    return ka === baselineKey ? -1 : kb === baselineKey ? 1 : ka < kb ? -1 : 1;
  });
  for (const g of sorted) {
    const key = groupKey(g.platform, g.label);
    if (!groupSelected(g, baselineKey, options)) continue;
    const rows = [...(cellsByGroup.get(key)?.values() ?? [])].map((cell) => compareCell(cell, baselineCells.get(cellKey(cell)), resolved));
    rows.sort((a, b) => (a.benchmarkId === b.benchmarkId ? (a.metric < b.metric ? -1 : 1) : a.benchmarkId < b.benchmarkId ? -1 : 1));
    const { categories, overall } = summarize(rows);
    const newest = await store.getRun(g.runIds[0] as string); // groupRuns lists newest first
    results.push({
      key,
      platform: g.platform,
      label: g.label,
      isBaseline: key === baselineKey,
      runIds: [...g.runIds],
      hostnames: [...g.hostnames],
      inventory: newest?.inventory ?? EMPTY_INVENTORY,
      evidence: newest?.evidence ?? [],
      benchmarks: rows,
      categories,
      overallGeomean: overall,
    });
  }
  return { baseline: baselineKey, baselineRunIds: baselineRuns?.runIds ?? [], groups: results };
}
