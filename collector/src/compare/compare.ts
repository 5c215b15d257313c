// Compares groups of runs (platform + label) against a baseline group, benchmark by
// benchmark, as docs/architecture.md ("Compare") describes: relative = guest/native for higher-is-better and
// native/guest for lower-is-better, so 1.0 is native and below 1.0 is overhead.
import type { CellAggregate, RunProvenance, Store } from '../store/store';
import { categoryOf, splitGroupKey } from '@guestbench/proto';
import { EMPTY_INVENTORY, groupKey, type Direction, type MachineFacts, type RunRecord } from '../model';
import { median, momentsFromSums, ratioInterval, type IntervalMethod, type RatioSide } from './statistics';

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

/**
 * - `above-native`: better than the baseline, and its interval lies wholly above 1.0 (a
 *   ratio above 1.0 whose interval contains 1.0 is within noise);
 * - `far-below-native`: below 0.05 of the baseline: 20 times slower, more often a harness
 *   or emulation artifact than an overhead; check it before believing it.
 */
export type Flag = 'noisy' | 'steal' | 'no-baseline' | 'above-native' | 'far-below-native' | 'harness-doubt';

/** Ratios below this are flagged far-below-native. */
export const FAR_BELOW_NATIVE = 0.05;

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
  /** How the interval was computed (see IntervalMethod); undefined without a ratio. */
  readonly ciMethod: IntervalMethod | undefined;
  /** Degrees of freedom of the interval's t quantile. */
  readonly ciDf: number | undefined;
  /** ciHigh / relative − 1: the relative half-width of the 95 % interval. */
  readonly halfWidth: number | undefined;
  /** The smallest relative difference these runs could detect (95 % two-sided, 80 % power). */
  readonly minDetectable: number | undefined;
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
  /** A 95 % interval of the geometric mean that holds however its metrics co-vary (see summarize). */
  readonly ciLow: number | undefined;
  readonly ciHigh: number | undefined;
  /** The median half-width of its primary metrics' intervals. */
  readonly medianHalfWidth: number | undefined;
}

/** Why a group's numbers may surprise, shown beside it. */
export interface GroupNote {
  readonly kind: 'baseline-not-bare-metal' | 'detected-differs' | 'clock-drift' | 'one-run';
  readonly text: string;
}

export interface GroupResult extends MachineFacts {
  readonly key: string;
  readonly platform: string;
  readonly label: string;
  readonly isBaseline: boolean;
  readonly runIds: readonly string[];
  readonly hostnames: readonly string[];
  readonly benchmarks: readonly BenchmarkRow[];
  readonly categories: readonly CategoryRow[];
  /** Geometric mean of the category means, so each category weighs the same. */
  readonly overallGeomean: number | undefined;
  readonly overallCiLow: number | undefined;
  readonly overallCiHigh: number | undefined;
  /** The median half-width of every primary metric's interval. */
  readonly medianHalfWidth: number | undefined;
  /** The weakest interval method among its metrics. */
  readonly ciMethod: IntervalMethod | undefined;
  /** Each run: where it ran, what detection said, how its clock kept time. */
  readonly runs: readonly RunProvenance[];
  readonly notes: readonly GroupNote[];
}

export interface CompareResult {
  readonly baseline: string;
  readonly baselineRunIds: readonly string[];
  readonly groups: readonly GroupResult[];
}

function cellKey(c: Pick<CellAggregate, 'benchmarkId' | 'metric' | 'unit' | 'direction' | 'parameters' | 'agentMajor'>): string {
  return JSON.stringify([c.benchmarkId, c.metric, c.unit, c.direction, c.parameters, c.agentMajor]);
}

function side(cell: CellAggregate): RatioSide {
  return {
    runs: momentsFromSums(cell.valueN, cell.valueLogSum, cell.valueLogSumSq),
    trials: momentsFromSums(cell.trialN, cell.trialLogSum, cell.trialLogSumSq),
  };
}

/** The geometric mean of the runs' values when every one is positive, else their arithmetic mean. */
function typical(cell: CellAggregate): number {
  return cell.valueMin > 0 ? Math.exp(cell.valueLogSum / cell.valueN) : cell.valueSum / cell.valueN;
}

type ResolvedOptions = { readonly noisyRsd: number; readonly stealThreshold: number };

function compareCell(group: CellAggregate, baseline: CellAggregate | undefined, options: ResolvedOptions): BenchmarkRow {
  const flags: Flag[] = [];
  const base = {
    benchmarkId: group.benchmarkId,
    metric: group.metric,
    unit: group.unit,
    direction: group.direction,
    primary: group.primary,
    parameters: group.parameters,
    agentMajor: group.agentMajor,
    groupRuns: group.runs,
    groupRsd: group.maxRsd,
    groupSteal: group.maxSteal,
    groupTrials: group.trialN,
    groupValue: typical(group),
  };
  const none = {
    relative: undefined,
    ciLow: undefined,
    ciHigh: undefined,
    ciMethod: undefined,
    ciDf: undefined,
    halfWidth: undefined,
    minDetectable: undefined,
  };
  if (baseline === undefined) {
    if (group.maxRsd > options.noisyRsd) flags.push('noisy');
    if (group.maxSteal > options.stealThreshold) flags.push('steal');
    if (group.doubtN > 0) flags.push('harness-doubt');
    flags.push('no-baseline');
    return { ...base, ...none, baselineValue: undefined, baselineTrials: 0, baselineRuns: 0, baselineRsd: 0, flags };
  }
  if (group.maxRsd > options.noisyRsd || baseline.maxRsd > options.noisyRsd) flags.push('noisy');
  if (group.maxSteal > options.stealThreshold || baseline.maxSteal > options.stealThreshold) flags.push('steal');
  // The agent said a sample on either side may measure its harness (see DOUBT_FLAGS).
  if (group.doubtN > 0 || baseline.doubtN > 0) flags.push('harness-doubt');
  const sides = { baselineValue: typical(baseline), baselineTrials: baseline.trialN, baselineRuns: baseline.runs, baselineRsd: baseline.maxRsd };
  // A zero (e.g. no failed requests) cannot be ratioed; such a metric is shown, not ratioed.
  // The trials' log moments count positive trials only: with another, a one-run interval would be wrong.
  const positive = (c: CellAggregate): boolean => c.valueMin > 0 && (c.trialN === 0 || c.trialMin > 0);
  if (!positive(group) || !positive(baseline)) return { ...base, ...none, ...sides, flags };
  // guest/native for higher-is-better; native/guest for lower-is-better.
  const est = group.direction === 'higher' ? ratioInterval(side(group), side(baseline)) : ratioInterval(side(baseline), side(group));
  if (est.low > 1) flags.push('above-native');
  if (est.ratio < FAR_BELOW_NATIVE) flags.push('far-below-native');
  return {
    ...base,
    ...sides,
    relative: est.ratio,
    ciLow: est.low,
    ciHigh: est.high,
    ciMethod: est.method,
    ciDf: est.df,
    halfWidth: est.halfWidth,
    minDetectable: est.mde,
    flags,
  };
}

const METHOD_STRENGTH: readonly IntervalMethod[] = ['within-run-only', 'borrowed-run-variance', 'between-runs'];

/** The weakest of these methods. */
function weakest(methods: readonly (IntervalMethod | undefined)[]): IntervalMethod | undefined {
  const known = methods.filter((m): m is IntervalMethod => m !== undefined);
  if (known.length === 0) return undefined;
  return known.reduce((w, m) => (METHOD_STRENGTH.indexOf(m) < METHOD_STRENGTH.indexOf(w) ? m : w));
}

interface Combined {
  readonly geomean: number | undefined;
  readonly ciLow: number | undefined;
  readonly ciHigh: number | undefined;
}

/**
 * The geometric mean of ratios with an interval: the mean of the log ratios ± the mean of
 * their log half-widths. Metrics of one run move together (a slow run slows many), and
 * the sum of half-widths is what perfectly correlated metrics would give, the widest case;
 * so the interval never claims more than its metrics do, whatever their correlation.
 */
function combine(parts: readonly { ratio: number; ciHigh: number | undefined }[]): Combined {
  if (parts.length === 0) return { geomean: undefined, ciLow: undefined, ciHigh: undefined };
  const logMean = parts.reduce((a, p) => a + Math.log(p.ratio), 0) / parts.length;
  const geomean = Math.exp(logMean);
  if (parts.some((p) => p.ciHigh === undefined)) return { geomean, ciLow: undefined, ciHigh: undefined };
  const logHalf = parts.reduce((a, p) => a + Math.log((p.ciHigh as number) / p.ratio), 0) / parts.length;
  return { geomean, ciLow: Math.exp(logMean - logHalf), ciHigh: Math.exp(logMean + logHalf) };
}

function summarize(rows: readonly BenchmarkRow[]): {
  categories: CategoryRow[];
  overall: Combined;
  medianHalfWidth: number | undefined;
  ciMethod: IntervalMethod | undefined;
} {
  const byCategory = new Map<string, BenchmarkRow[]>();
  for (const r of rows) {
    const list = byCategory.get(categoryOf(r.benchmarkId)) ?? [];
    if (r.primary && r.relative !== undefined) list.push(r);
    byCategory.set(categoryOf(r.benchmarkId), list);
  }
  const halfWidths = (list: readonly BenchmarkRow[]): number[] => list.flatMap((r) => (r.halfWidth === undefined ? [] : [r.halfWidth]));
  const categories = [...byCategory.entries()].map(([category, list]) => ({
    category,
    ...combine(list.map((r) => ({ ratio: r.relative as number, ciHigh: r.ciHigh }))),
    benchmarks: list.length,
    medianHalfWidth: median(halfWidths(list)),
  }));
  const overall = combine(categories.flatMap((c) => (c.geomean === undefined ? [] : [{ ratio: c.geomean, ciHigh: c.ciHigh }])));
  const primary = [...byCategory.values()].flat();
  return { categories, overall, medianHalfWidth: median(halfWidths(primary)), ciMethod: weakest(primary.map((r) => r.ciMethod)) };
}

/** What explains or qualifies a group's numbers: where its runs (and the baseline's) ran, and how. */
/** `rows`: the group's metrics, for a group compared with the baseline (undefined for the baseline). */
function groupNotes(runs: readonly RunProvenance[], isBaseline: boolean, rows: readonly BenchmarkRow[] | undefined): GroupNote[] {
  const notes: GroupNote[] = [];
  const offNative = runs.filter((r) => r.detectedPlatform !== '' && r.detectedPlatform !== 'native' && r.declaredPlatform === 'native');
  if (isBaseline && offNative.length > 0) {
    const seen = [...new Set(offNative.map((r) => `${r.detectedPlatform} on ${r.hostname}`))].join(', ');
    notes.push({
      kind: 'baseline-not-bare-metal',
      text: `baseline is not bare metal: its runs were declared native, but detection said ${seen} (${offNative.length} of ${runs.length} runs); ratios are against that machine, not hardware`,
    });
  }
  const differs = runs.filter(
    (r) =>
      r.detectedPlatform !== '' &&
      r.declaredPlatform !== '' &&
      r.declaredPlatform !== 'auto' &&
      r.detectedPlatform !== r.declaredPlatform &&
      !(isBaseline && r.declaredPlatform === 'native'),
  );
  if (differs.length > 0) {
    notes.push({
      kind: 'detected-differs',
      text: `declared ${[...new Set(differs.map((r) => r.declaredPlatform))].join(', ')}, detected ${[...new Set(differs.map((r) => r.detectedPlatform))].join(', ')} (${differs.length} of ${runs.length} runs)`,
    });
  }
  const drifting = runs.filter((r) => r.clock.drift);
  if (drifting.length > 0) {
    const worst = drifting.reduce((w, r) => (Math.abs(r.clock.rateDifference ?? 0) > Math.abs(w.clock.rateDifference ?? 0) ? r : w));
    notes.push({
      kind: 'clock-drift',
      text: `clock-drift: ${drifting.length} of ${runs.length} runs timed with a guest clock off the collector's by more than 0.5 % (worst ${((worst.clock.rateDifference ?? 0) * 100).toFixed(2)} % in run ${worst.id}); their timings are off by as much`,
    });
  }
  if (rows !== undefined) {
    const weak = rows.filter((r) => r.ciMethod !== undefined && r.ciMethod !== 'between-runs');
    const ratioed = rows.filter((r) => r.ciMethod !== undefined).length;
    if (weak.length === ratioed && weak.length > 0) {
      notes.push({
        kind: 'one-run',
        text: weak.some((r) => r.ciMethod === 'within-run-only')
          ? "one run on a side: intervals cover only the noise within a run (one run each: widened to one degree of freedom) or assume the other side's run-to-run variation; run at least two of each"
          : "one run on a side: its run-to-run variation is assumed like the other side's (run at least two of each)",
      });
    } else if (weak.length > 0) {
      // Some benchmarks have one run on a side: one failed or was left out in the other runs.
      notes.push({
        kind: 'one-run',
        text: `${weak.length} of ${ratioed} metrics have a single run on a side (a benchmark failed or was not run in the others): their intervals are ${[...new Set(weak.map((r) => r.ciMethod))].join(' or ')}`,
      });
    }
  }
  return notes;
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
    const rows = [...(cellsByGroup.get(key)?.values() ?? [])].map((cell) => {
      const row = compareCell(cell, baselineCells.get(cellKey(cell)), resolved);
      // The baseline against itself is 1 by definition: an interval there would only restate its spread.
      return key === baselineKey && row.relative !== undefined
        ? { ...row, ciLow: undefined, ciHigh: undefined, ciMethod: undefined, ciDf: undefined, halfWidth: undefined, minDetectable: undefined }
        : row;
    });
    rows.sort((a, b) => (a.benchmarkId === b.benchmarkId ? (a.metric < b.metric ? -1 : 1) : a.benchmarkId < b.benchmarkId ? -1 : 1));
    const { categories, overall, medianHalfWidth, ciMethod } = summarize(rows);
    const newest = await store.getRun(g.runIds[0] as string); // groupRuns lists newest first
    const isBaseline = key === baselineKey;
    results.push({
      key,
      platform: g.platform,
      label: g.label,
      isBaseline,
      runIds: [...g.runIds],
      hostnames: [...g.hostnames],
      inventory: newest?.inventory ?? EMPTY_INVENTORY,
      evidence: newest?.evidence ?? [],
      benchmarks: rows,
      categories,
      overallGeomean: overall.geomean,
      overallCiLow: overall.ciLow,
      overallCiHigh: overall.ciHigh,
      medianHalfWidth,
      ciMethod,
      runs: g.runs,
      notes: groupNotes(g.runs, isBaseline, isBaseline ? undefined : rows),
    });
  }
  return { baseline: baselineKey, baselineRunIds: baselineRuns?.runIds ?? [], groups: results };
}
