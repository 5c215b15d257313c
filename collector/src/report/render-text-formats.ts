// The report as Markdown (for an issue or a wiki page), CSV (one row per measurement, for a
// spreadsheet) and plain text (today's terminal table, then stability).
import { categoryOf } from '@guestbench/proto';
import { formatConfigurationView, formatEffect } from '../compare/configuration-view';
import type { ReportData } from './build-report';
import { csvField, escapeMarkdown as md } from './escape';
import { formatComparison } from './format-comparison';
import {
  fmtPrecision,
  groupNoteLines,
  INTERVAL_NOTE,
  runProvenanceLine,
  categoriesOf,
  categoryName,
  describeQuery,
  FLAG_MEANINGS,
  fmtCi,
  fmtDuration,
  fmtPercent,
  fmtRelative,
  fmtTime,
  fmtBytes,
  fmtValue,
  measureKey,
  measuresOf,
} from './report-layout';
import { textTable } from './text-table';

function mdTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: ReadonlySet<number> = new Set()): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (numeric.has(i) ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

function stabilityCells(data: ReportData): string[][] {
  return data.stability.map((s) => [
    s.key,
    String(s.runs),
    String(s.byStatus.completed),
    String(s.byStatus.partial),
    String(s.byStatus.failed),
    String(s.byStatus.lost),
    String(s.byStatus.cancelled),
    String(s.byStatus.running),
    s.silenceBeforeEnd === undefined ? '–' : `${fmtDuration(s.silenceBeforeEnd.medianMs)} / ${fmtDuration(s.silenceBeforeEnd.maxMs)}`,
    s.bootToAgent === undefined ? '–' : `${s.bootToAgent.seconds.toFixed(2)} s`,
  ]);
}

/** One line per partial, failed or lost run: a partial run's line names each failed benchmark and why. */
function problemLines(data: ReportData): string[] {
  return data.stability.flatMap((s) => s.problems.map((p) => `${p.status} ${s.key} on ${p.hostname} (run ${p.runId})${p.error === '' ? '' : `: ${p.error}`}`));
}

const STABILITY_HEADER = [
  'group',
  'runs',
  'completed',
  'partial',
  'failed',
  'lost',
  'cancelled',
  'running',
  'silence before end (median / max)',
  'boot to agent',
];

export function renderMarkdown(data: ReportData): string {
  const groups = data.comparison.groups;
  const categories = categoriesOf(data);
  const out: string[] = ['# guestbench report', '', `${md(describeQuery(data))} · generated ${fmtTime(data.generatedAtMs)}`, ''];
  if (groups.length === 0) {
    out.push('No finished runs match this query.', '');
  } else {
    if (data.comparison.baselineRunIds.length === 0)
      out.push(`No finished runs in the baseline group ${md(data.comparison.baseline)}: values are shown, never ratioed.`, '');
    out.push(`## Summary`, '', `Geometric means relative to ${md(data.comparison.baseline)}: 1.000 is native, below is overhead.`, '');
    out.push(
      mdTable(
        ['group', 'runs', ...categories.map(categoryName), 'overall'],
        groups.map((g) => [
          `${md(g.key)}${g.isBaseline ? ' (baseline)' : ''}`,
          String(g.runIds.length),
          ...categories.map((c) => (g.isBaseline ? '1' : fmtRelative(g.categories.find((x) => x.category === c)?.geomean))),
          g.isBaseline ? '1' : `**${fmtRelative(g.overallGeomean)}**`,
        ]),
        new Set(categories.map((_, i) => i + 2).concat([1, categories.length + 2])),
      ),
      '',
      FLAG_MEANINGS.map(([f, m]) => `- **${f}**: ${m}`).join('\n'),
      '',
      INTERVAL_NOTE,
      '',
      ...groups.flatMap((g) => [`- **${md(g.key)}** runs: ${md(runProvenanceLine(g))}`, ...groupNoteLines(g).map((n) => `  - ${md(n)}`)]),
      '',
    );
    for (const c of categories) {
      out.push(`## ${md(categoryName(c))}`, '');
      const rows: string[][] = [];
      for (const m of measuresOf(groups, c)) {
        for (const g of groups) {
          if (g.isBaseline) continue;
          const b = g.benchmarks.find((x) => measureKey(x) === m.key);
          if (b === undefined) continue;
          rows.push([
            md(b.benchmarkId),
            `${md(b.metric)}${m.variant === '' ? '' : ` (${md(m.variant)})`}`,
            `${md(b.unit)} ${b.direction === 'higher' ? '↑' : '↓'}`,
            md(g.key),
            fmtValue(b.groupValue),
            fmtValue(b.baselineValue),
            fmtRelative(b.relative),
            fmtCi(b),
            md(fmtPrecision(b)),
            fmtPercent(b.groupRsd),
            md(b.flags.join(', ')),
          ]);
        }
      }
      out.push(
        rows.length === 0
          ? 'Only the baseline measured this.'
          : mdTable(
              ['benchmark', 'metric', 'unit', 'group', 'value', 'baseline', 'relative', '95% CI', 'precision', 'RSD', 'flags'],
              rows,
              new Set([4, 5, 6, 7, 9]),
            ),
        '',
      );
    }
  }
  if (data.stability.length > 0) {
    out.push(
      '## Stability',
      '',
      mdTable(
        STABILITY_HEADER,
        stabilityCells(data).map((r) => [md(r[0] as string), ...r.slice(1)]),
        new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      ),
      '',
    );
    const problems = problemLines(data);
    if (problems.length > 0) out.push('Partial, failed and lost runs (newest first):', '', ...problems.map((l) => `- ${md(l)}`), '');
  }
  if (data.systems.length > 0) {
    out.push(
      '## Systems',
      '',
      mdTable(
        ['host', 'groups', 'platform', 'CPU', 'vCPUs', 'memory', 'kernel', 'clocksource', 'evidence'],
        data.systems.map((s) => [
          md(s.hostname),
          md(s.groups.join(', ')),
          md(
            s.declaredPlatform !== '' && s.declaredPlatform !== s.detectedPlatform
              ? `${s.platform} (declared; detected ${s.detectedPlatform || 'nothing'})`
              : s.platform,
          ),
          md(s.inventory.cpuModel || '–'),
          s.inventory.cpus > 0 ? String(s.inventory.cpus) : '–',
          fmtBytes(s.inventory.memoryBytes),
          md(s.inventory.kernel || '–'),
          md(s.inventory.clocksource || '–'),
          md(s.evidence.map((e) => `${e.source}: ${e.value}`).join('; ') || 'none'),
        ]),
        new Set([4, 5]),
      ),
      '',
    );
  }
  if (data.configurations.groups.length > 0) {
    out.push(
      '## Configurations',
      '',
      mdTable(
        ['group', 'settings', 'accelerator', 'host kernel', 'QEMU', 'libvirt', 'runs recorded'],
        data.configurations.groups.map((g) => [
          md(g.key),
          md(
            Object.entries(g.settings)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ),
          md(g.accelerator || '–'),
          md(g.hostKernel || '–'),
          md(g.qemuVersion || '–'),
          md(g.libvirtVersion || '–'),
          `${g.configuredRuns}/${g.runs}${g.mixed ? ' (mixed)' : ''}`,
        ]),
      ),
      '',
      '### Effect of each setting (everything else equal; above 1 is better)',
      '',
      ...(data.configurations.effects.length === 0
        ? ['No two groups differ in exactly one setting.']
        : data.configurations.effects.map((e) => `- ${md(formatEffect(e))}`)),
      '',
    );
  }
  return out.join('\n');
}

const CSV_HEADER = [
  'group',
  'platform',
  'label',
  'is_baseline',
  'category',
  'benchmark',
  'metric',
  'unit',
  'direction',
  'primary',
  'parameters',
  'agent_major',
  'value',
  'baseline_value',
  'relative',
  'ci_low',
  'ci_high',
  'group_runs',
  'baseline_runs',
  'group_trials',
  'baseline_trials',
  'group_rsd',
  'baseline_rsd',
  'group_steal',
  'flags',
  'ci_method',
  'half_width',
  'min_detectable',
];

/** One row per group and measurement; numbers unrounded. */
export function renderCsv(data: ReportData): string {
  const lines = [CSV_HEADER.join(',')];
  for (const g of data.comparison.groups) {
    for (const b of g.benchmarks) {
      lines.push(
        [
          g.key,
          g.platform,
          g.label,
          g.isBaseline,
          categoryOf(b.benchmarkId),
          b.benchmarkId,
          b.metric,
          b.unit,
          b.direction,
          b.primary,
          b.parameters,
          b.agentMajor,
          b.groupValue,
          b.baselineValue,
          b.relative,
          b.ciLow,
          b.ciHigh,
          b.groupRuns,
          b.baselineRuns,
          b.groupTrials,
          b.baselineTrials,
          b.groupRsd,
          b.baselineRsd,
          b.groupSteal,
          b.flags.join(' '),
          b.ciMethod,
          b.halfWidth,
          b.minDetectable,
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Today's terminal table, then how the runs ended. */
export function renderText(data: ReportData): string {
  const out = [formatComparison(data.comparison)];
  if (data.stability.length > 0) {
    out.push('', 'Stability', textTable(STABILITY_HEADER, stabilityCells(data), new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])));
    const problems = problemLines(data);
    if (problems.length > 0) out.push('', 'Partial, failed and lost runs (newest first):', ...problems.map((l) => `  ${l}`));
  }
  if (data.configurations.groups.length > 0) out.push('', formatConfigurationView(data.configurations).trimEnd());
  // Text from guests must not steer the terminal: no escape sequences or other controls.
  // eslint-disable-next-line no-control-regex
  return `${out.join('\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '\uFFFD')}\n`;
}
