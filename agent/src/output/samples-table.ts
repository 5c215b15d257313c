// The samples of a local run as an aligned table.
import type { MeasuredSample } from '../bench/runner';

export function formatSamplesTable(samples: readonly MeasuredSample[]): string {
  const header = ['benchmark', 'metric', 'value', 'unit', '', 'RSD', '±95%', 'trials', 'steal', 'clocksource', 'flags'];
  const rows = samples.map((s) => [
    s.benchmarkId,
    s.metric,
    s.value.toPrecision(4),
    s.unit,
    s.direction === 'higher' ? '↑' : '↓',
    `${(s.rsd * 100).toFixed(1)}%`,
    Number.isFinite(s.halfWidth) ? `${(s.halfWidth * 100).toFixed(1)}%` : '–',
    String(s.trials.length),
    `${(s.stealFraction * 100).toFixed(1)}%`,
    s.clocksource,
    s.flags.join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = new Set([2, 5, 6, 7, 8]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
