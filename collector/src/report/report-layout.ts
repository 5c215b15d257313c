// What every report format agrees on: the order and names of the test groups, which rows a
// chart shows, and how numbers, times and sizes are written.
import { categoryOf } from '@guestbench/proto';
import type { BenchmarkRow, GroupResult } from '../compare/compare';
import type { ReportData } from './build-report';

const CATEGORY_NAMES: Readonly<Record<string, string>> = {
  cpu: 'CPU',
  mem: 'Memory',
  sys: 'System',
  disk: 'File I/O (disk)',
  net: 'Network',
  web: 'Web server',
  boot: 'Boot',
};
const CATEGORY_ORDER = Object.keys(CATEGORY_NAMES);

export function categoryName(category: string): string {
  return CATEGORY_NAMES[category] ?? category;
}

/** The categories present, the study's order first (cpu, mem, sys, disk, net, web, boot), then any other. */
export function categoriesOf(data: ReportData): string[] {
  const present = new Set(data.comparison.groups.flatMap((g) => g.benchmarks.map((b) => categoryOf(b.benchmarkId))));
  const known = CATEGORY_ORDER.filter((c) => present.has(c));
  const other = [...present].filter((c) => !CATEGORY_ORDER.includes(c)).sort();
  return [...known, ...other];
}

/** One measured quantity: a benchmark's metric with its parameters, as the comparison pairs them. */
export interface Measure {
  readonly key: string;
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: BenchmarkRow['direction'];
  readonly primary: boolean;
  readonly parameters: string;
  readonly agentMajor: string;
  /** Set when the same benchmark and metric appear with other parameters or agent versions. */
  readonly variant: string;
}

export function measureKey(b: BenchmarkRow): string {
  return JSON.stringify([b.benchmarkId, b.metric, b.unit, b.direction, b.parameters, b.agentMajor]);
}

/** The category's measures across every group, in benchmark order; a chart shows the primary ones. */
export function measuresOf(groups: readonly GroupResult[], category: string): Measure[] {
  const byKey = new Map<string, BenchmarkRow>();
  for (const g of groups) for (const b of g.benchmarks) if (categoryOf(b.benchmarkId) === category && !byKey.has(measureKey(b))) byKey.set(measureKey(b), b);
  const rows = [...byKey.entries()];
  const sameName = (b: BenchmarkRow): number => rows.filter(([, o]) => o.benchmarkId === b.benchmarkId && o.metric === b.metric).length;
  return rows
    .map(([key, b]) => {
      const params = b.parameters === '{}' ? '' : b.parameters.replace(/^\{|\}$/g, '').replace(/"/g, '');
      const variant = sameName(b) > 1 ? [params, `agent ${b.agentMajor}.x`].filter((p) => p !== '').join(' · ') : '';
      return {
        key,
        benchmarkId: b.benchmarkId,
        metric: b.metric,
        unit: b.unit,
        direction: b.direction,
        primary: b.primary,
        parameters: b.parameters,
        agentMajor: b.agentMajor,
        variant,
      };
    })
    .sort((a, b) =>
      a.benchmarkId !== b.benchmarkId ? (a.benchmarkId < b.benchmarkId ? -1 : 1) : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : a.key < b.key ? -1 : 1,
    );
}

/** The measures a chart shows: the primary metrics, or every metric when none is primary. */
export function chartedMeasures(measures: readonly Measure[]): Measure[] {
  const primary = measures.filter((m) => m.primary);
  return primary.length > 0 ? primary : [...measures];
}

export function fmtRelative(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3);
}

export function fmtCi(b: Pick<BenchmarkRow, 'ciLow' | 'ciHigh'>): string {
  return b.ciLow === undefined || b.ciHigh === undefined ? '–' : `${b.ciLow.toFixed(3)}–${b.ciHigh.toFixed(3)}`;
}

/** A measured value with three significant digits, or exponent notation when far from 1. */
export function fmtValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e7 || abs < 1e-3)) return v.toExponential(2);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

export function fmtPercent(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

export function fmtDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function fmtTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function fmtBytes(bytes: number): string {
  if (bytes <= 0) return '–';
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** One line saying which runs the report covers. */
export function describeQuery(data: ReportData): string {
  const q = data.query;
  const f = q.filter;
  const parts = [`baseline ${q.baseline}`, q.groups.length > 0 ? `groups ${q.groups.join(', ')}` : 'all groups'];
  if (f.platform !== undefined) parts.push(`platform ${f.platform}`);
  if (f.label !== undefined) parts.push(`label ${f.label}`);
  if (f.hostname !== undefined) parts.push(`host ${f.hostname}`);
  if (f.since !== undefined) parts.push(`since ${fmtTime(f.since)}`);
  if (f.until !== undefined) parts.push(`until ${fmtTime(f.until)}`);
  return parts.join(' · ');
}

/** "±4.2% between-runs, MDE 6.1%": the interval's half-width, how it was computed, what it could detect. */
export function fmtPrecision(b: Pick<BenchmarkRow, 'halfWidth' | 'ciMethod' | 'minDetectable'>): string {
  if (b.halfWidth === undefined || b.ciMethod === undefined) return '–';
  return `±${fmtPercent(b.halfWidth)} ${b.ciMethod}, MDE ${fmtPercent(b.minDetectable ?? Number.NaN)}`;
}

/** The notes beside a group: what explains or qualifies its numbers. */
export function groupNoteLines(g: Pick<GroupResult, 'notes'>): string[] {
  return g.notes.map((n) => n.text);
}

/** Each run's host, declared and detected platform, and clock check, in one line. */
export function runProvenanceLine(g: Pick<GroupResult, 'runs'>): string {
  return g.runs
    .map((r) => {
      const platform =
        r.declaredPlatform !== '' && r.declaredPlatform !== 'auto'
          ? `declared ${r.declaredPlatform}, detected ${r.detectedPlatform || '?'}`
          : `detected ${r.detectedPlatform || '?'}`;
      const clock =
        r.clock.rateDifference === undefined
          ? 'clock unchecked'
          : `clock ${r.clock.rateDifference >= 0 ? '+' : ''}${(r.clock.rateDifference * 100).toFixed(2)}%${r.clock.drift ? ' clock-drift' : ''}`;
      return `${r.id.slice(0, 8)} on ${r.hostname} (${platform}; ${clock})`;
    })
    .join('; ');
}

export const FLAG_MEANINGS: readonly (readonly [string, string])[] = [
  ['noisy', 'the trials varied more than 5% (relative standard deviation) on one side: the interval is wide, read with care'],
  ['steal', 'the hypervisor took CPU time from the guest (steal time above 1%) while it was measured'],
  ['no-baseline', 'no baseline run with the same benchmark, parameters and agent major version: the value is shown, never ratioed'],
  [
    'above-native',
    "faster than the baseline, with the whole 95% interval above 1.0: see the group's notes (a baseline that is itself a VM, a cache the guest has and the host has not); a ratio above 1.0 whose interval contains 1.0 is within noise",
  ],
  [
    'far-below-native',
    "below 0.05 of the baseline: more often an artifact of emulation or of the harness than the platform's cost; check it before believing it",
  ],
  [
    'harness-doubt',
    "the agent flagged a sample on either side as measuring its harness rather than the platform (not-settled: the trials had not settled; not-optimized or optimization-unverified: a cpu kernel ran, or may have run, code V8 had not optimized); see the run's samples before believing the ratio",
  ],
  ['clock-drift', "a run's guest clock ran more than 0.5% fast or slow against the collector's over the run: its timings are off by as much"],
];

/** How to read an interval; printed under every report's summary. */
export const INTERVAL_NOTE =
  '95% intervals: between-runs (two or more runs a side, each run one observation, Welch t), ' +
  'borrowed-run-variance (one run on a side, assumed to vary like the other side), ' +
  'within-run-only (one run each: trial noise only, t with one degree of freedom). ' +
  "MDE: the smallest difference these runs could detect (95%, 80% power). Category and overall intervals add their metrics' half-widths, which holds however the metrics co-vary.";
