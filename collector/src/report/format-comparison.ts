// The comparison as text for a terminal: one table per group, then the summary.
import type { BenchmarkRow, CompareResult, GroupResult } from '../compare/compare';
import { fmtPrecision, groupNoteLines, INTERVAL_NOTE, runProvenanceLine } from './report-layout';
import { textTable } from './text-table';

export function formatNumber(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return v.toExponential(2);
  return v.toPrecision(digits >= 1 ? Math.max(digits, Math.ceil(Math.log10(abs + 1))) : 3);
}

function relativeCell(b: BenchmarkRow): string {
  if (b.relative === undefined) return '-';
  return b.relative.toFixed(3);
}

function ciCell(b: BenchmarkRow): string {
  if (b.ciLow === undefined || b.ciHigh === undefined) return '-';
  return `${b.ciLow.toFixed(3)}–${b.ciHigh.toFixed(3)}`;
}

function withInterval(v: number, low: number | undefined, high: number | undefined): string {
  return low === undefined || high === undefined ? v.toFixed(3) : `${v.toFixed(3)} (${low.toFixed(2)}–${high.toFixed(2)})`;
}

function groupTitle(g: GroupResult): string {
  const inv = g.inventory;
  const parts = [
    `${g.key}${g.isBaseline ? ' (baseline)' : ''}`,
    `${g.runIds.length} run${g.runIds.length === 1 ? '' : 's'}`,
    g.hostnames.join(', '),
    inv.cpuModel !== '' ? `${inv.cpus} × ${inv.cpuModel}` : '',
    inv.kernel !== '' ? `kernel ${inv.kernel}` : '',
    inv.clocksource !== '' ? `clocksource ${inv.clocksource}` : '',
  ].filter((p) => p !== '');
  return parts.join(' · ');
}

export function formatComparison(result: CompareResult): string {
  const out: string[] = [];
  if (result.baselineRunIds.length === 0) {
    out.push(`No runs in the baseline group "${result.baseline}": values are shown, never ratioed (flag no-baseline).`, '');
  }
  for (const g of result.groups) {
    out.push(groupTitle(g));
    out.push(`  runs: ${runProvenanceLine(g)}`);
    for (const line of groupNoteLines(g)) out.push(`  note: ${line}`);
    const rows = g.benchmarks.map((b) => [
      b.benchmarkId,
      b.metric,
      b.unit,
      b.direction === 'higher' ? '↑' : '↓',
      formatNumber(b.groupValue),
      formatNumber(b.baselineValue),
      relativeCell(b),
      ciCell(b),
      fmtPrecision(b),
      `${(b.groupRsd * 100).toFixed(1)}%`,
      b.flags.join(','),
    ]);
    out.push(
      textTable(['benchmark', 'metric', 'unit', '', 'value', 'baseline', 'relative', '95% CI', 'precision', 'RSD', 'flags'], rows, new Set([4, 5, 6, 9])),
    );
    out.push('');
  }
  const categories = [...new Set(result.groups.flatMap((g) => g.categories.map((c) => c.category)))];
  const summary = result.groups.map((g) => [
    g.key,
    ...categories.map((c) => {
      const cat = g.categories.find((x) => x.category === c);
      return cat?.geomean === undefined ? '-' : withInterval(cat.geomean, cat.ciLow, cat.ciHigh);
    }),
    g.overallGeomean === undefined ? '-' : withInterval(g.overallGeomean, g.overallCiLow, g.overallCiHigh),
    g.medianHalfWidth === undefined ? '-' : `±${(g.medianHalfWidth * 100).toFixed(1)}%`,
  ]);
  out.push(`Relative to ${result.baseline} (geometric means; 1.000 = native, below = overhead)`);
  out.push(
    textTable(
      ['group', ...categories, 'overall', 'median ±'],
      summary,
      new Set(categories.map((_, i) => i + 1).concat([categories.length + 1, categories.length + 2])),
    ),
  );
  out.push(INTERVAL_NOTE);
  return out.join('\n');
}
