// The report as one self-contained HTML page: inline CSS and SVG, no script, no external
// asset, so that it can be mailed, archived or opened from a file and look the same.
import type { BenchmarkRow, GroupResult } from '../compare/compare';
import { formatEffect } from '../compare/configuration-view';
import { reportQueryParams } from '../query/parse-report-query';
import type { ReportData, StabilityRow, SystemRow } from './build-report';
import { escapeHtml as h } from './escape';
import {
  fmtPrecision,
  groupNoteLines,
  INTERVAL_NOTE,
  runProvenanceLine,
  categoriesOf,
  categoryName,
  chartedMeasures,
  describeQuery,
  FLAG_MEANINGS,
  fmtBytes,
  fmtCi,
  fmtDuration,
  fmtPercent,
  fmtRelative,
  fmtTime,
  fmtValue,
  measureKey,
  measuresOf,
  type Measure,
} from './report-layout';
import { barChartSvg, type ChartRow, type ChartSeries } from './svg-bar-chart';

export interface HtmlOptions {
  /**
   * Served by a collector: add the form that changes the query and links to the other
   * formats. Off for a file, where neither would work. @default false
   */
  readonly interactive?: boolean;
}

/** Okabe–Ito: told apart by people with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7F7F', '#1B1F24'];

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.lead { color: #57606a; margin: 0 0 12px; }
.meta { color: #57606a; font-size: 13px; }
nav.toc { margin: 12px 0 0; font-size: 13px; }
nav.toc a { margin-right: 12px; }
a { color: #0969da; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.flags { color: #bc4c00; white-space: nowrap; }
tr.baseline td { background: #f6f8fa; }
.heat-faster { background: #dcebf7; } .heat-par { background: #e3f4e1; } .heat-mild { background: #fdf3d0; }
.heat-some { background: #fde0c5; } .heat-much { background: #f8d0d0; }
.chart-box, .table-box { overflow-x: auto; }
td.host { overflow-wrap: anywhere; max-width: 260px; }
ul.problems { font-size: 13px; padding-left: 18px; } ul.problems li { overflow-wrap: anywhere; }
svg.chart { max-width: 100%; height: auto; display: block; }
ul.legend { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; }
dl.flags { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; margin: 8px 0; }
dl.flags dt { color: #bc4c00; font-weight: 600; }
dl.flags dd { margin: 0; }
.note { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
details { margin: 6px 0 0; }
summary { cursor: pointer; color: #0969da; }
form.query { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin: 14px 0 0; padding: 10px 12px; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; font-size: 12px; }
form.query label { display: flex; flex-direction: column; gap: 2px; color: #57606a; }
form.query input { font: inherit; font-size: 13px; padding: 3px 6px; width: 150px; border: 1px solid #d0d7de; border-radius: 4px; }
form.query button { font: inherit; font-size: 13px; padding: 4px 14px; }
ul.evidence { margin: 0; padding-left: 16px; font-size: 12px; }
.muted { color: #6e7781; }
code { font-size: 12px; }
@media print { form.query, nav.toc, .downloads { display: none; } h2 { break-after: avoid; } section { break-inside: avoid-page; } }
`;

function heatClass(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '';
  if (v > 1.03) return 'heat-faster';
  if (v >= 0.97) return 'heat-par';
  if (v >= 0.9) return 'heat-mild';
  if (v >= 0.75) return 'heat-some';
  return 'heat-much';
}

function seriesOf(groups: readonly GroupResult[]): ChartSeries[] {
  return groups.map((g, i) => ({ name: g.key, color: PALETTE[i % PALETTE.length] as string }));
}

function legend(series: readonly ChartSeries[]): string {
  return `<ul class="legend">${series.map((s) => `<li><span class="swatch" style="background:${s.color}"></span>${h(s.name)}</li>`).join('')}</ul>`;
}

function rowFor(group: GroupResult, m: Measure): BenchmarkRow | undefined {
  return group.benchmarks.find((b) => measureKey(b) === m.key);
}

function barTitle(group: GroupResult, m: Measure, b: BenchmarkRow | undefined, baseline: string): string {
  if (b === undefined) return `${group.key} · ${m.benchmarkId} ${m.metric}: not measured`;
  const values = `${fmtValue(b.groupValue)} vs ${fmtValue(b.baselineValue)} ${b.unit} (${b.direction === 'higher' ? 'higher' : 'lower'} is better)`;
  return [
    `${group.key} · ${b.benchmarkId} ${b.metric}${m.variant === '' ? '' : ` (${m.variant})`}`,
    b.relative === undefined ? `no ratio against ${baseline}` : `relative ${fmtRelative(b.relative)}, 95% CI ${fmtCi(b)}`,
    values,
    `runs ${b.groupRuns} vs ${b.baselineRuns}, trials ${b.groupTrials} vs ${b.baselineTrials}, RSD ${fmtPercent(b.groupRsd)}`,
    b.flags.length > 0 ? `flags: ${b.flags.join(', ')}` : '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

function categoryChart(data: ReportData, category: string, compared: readonly GroupResult[], series: readonly ChartSeries[], index: number): string {
  const measures = chartedMeasures(measuresOf(compared, category));
  const rows: ChartRow[] = measures.map((m) => ({
    label: m.benchmarkId,
    sublabel: `${m.metric}, ${m.unit} ${m.direction === 'higher' ? '↑' : '↓'}${m.variant === '' ? '' : ` · ${m.variant}`}`,
    bars: compared.map((g, gi) => {
      const b = rowFor(g, m);
      return {
        series: gi,
        value: b?.relative,
        low: b?.ciLow,
        high: b?.ciHigh,
        notes: [
          ...(b?.flags ?? []).filter((f) => f !== 'no-baseline'),
          // With one run on a side the interval covers only trial-to-trial noise, not run-to-run variation.
          ...(b?.ciLow !== undefined && (b.groupRuns === 1 || b.baselineRuns === 1) ? ['interval from 1 run'] : []),
        ],
        missing: b === undefined ? 'not measured' : b.flags.includes('no-baseline') ? 'no baseline' : 'cannot be ratioed (a zero)',
        title: barTitle(g, m, b, data.comparison.baseline),
      };
    }),
  }));
  return barChartSvg({ id: `chart-${index}`, title: `${categoryName(category)}: each group relative to ${data.comparison.baseline}`, series, rows });
}

function measurementsTable(category: string, groups: readonly GroupResult[]): string {
  const measures = measuresOf(groups, category);
  const body: string[] = [];
  for (const m of measures) {
    for (const g of groups) {
      const b = rowFor(g, m);
      if (b === undefined) continue;
      body.push(
        `<tr${g.isBaseline ? ' class="baseline"' : ''}><td>${h(b.benchmarkId)}</td><td>${h(b.metric)}${m.variant === '' ? '' : ` <span class="muted">${h(m.variant)}</span>`}</td>` +
          `<td>${h(b.unit)} ${b.direction === 'higher' ? '↑' : '↓'}</td><td>${h(g.key)}</td>` +
          `<td class="num">${fmtValue(b.groupValue)}</td><td class="num">${fmtValue(b.baselineValue)}</td>` +
          `<td class="num ${heatClass(b.relative)}">${g.isBaseline ? '1 (baseline)' : fmtRelative(b.relative)}</td><td class="num">${g.isBaseline ? '–' : fmtCi(b)}</td><td class="num">${g.isBaseline ? '–' : h(fmtPrecision(b))}</td>` +
          `<td class="num">${b.groupRuns} / ${b.baselineRuns}</td><td class="num">${fmtPercent(b.groupRsd)}</td><td class="num">${fmtPercent(b.groupSteal)}</td>` +
          `<td class="flags">${h(b.flags.join(', '))}</td></tr>`,
      );
    }
  }
  return (
    `<details><summary>Every measurement (${body.length})</summary><div class="table-box"><table class="measurements"><thead><tr>` +
    '<th>benchmark</th><th>metric</th><th>unit</th><th>group</th><th class="num">value</th><th class="num">baseline</th>' +
    '<th class="num">relative</th><th class="num">95% CI</th><th class="num">precision</th><th class="num">runs</th><th class="num">RSD</th><th class="num">steal</th><th>flags</th>' +
    `</tr></thead><tbody>${body.join('')}</tbody></table></div></details>`
  );
}

function summarySection(data: ReportData, categories: readonly string[], compared: readonly GroupResult[], series: readonly ChartSeries[]): string {
  const groups = data.comparison.groups;
  const head = `<tr><th>group</th><th class="num">runs</th>${categories.map((c) => `<th class="num">${h(categoryName(c))}</th>`).join('')}<th class="num">overall</th><th>flags</th></tr>`;
  const body = groups
    .map((g) => {
      const flags = [...new Set([...g.benchmarks.flatMap((b) => b.flags), ...g.notes.map((n) => n.kind)])];
      const cells = categories.map((c) => {
        const cat = g.categories.find((x) => x.category === c);
        if (g.isBaseline) return '<td class="num muted">1</td>';
        return `<td class="num ${heatClass(cat?.geomean)}" data-category="${h(c)}">${fmtRelative(cat?.geomean)}</td>`;
      });
      return (
        `<tr${g.isBaseline ? ' class="baseline"' : ''} data-group="${h(g.key)}"><td>${h(g.key)}${g.isBaseline ? ' <span class="muted">(baseline)</span>' : ''}</td>` +
        `<td class="num">${g.runIds.length}</td>${cells.join('')}` +
        `<td class="num overall ${g.isBaseline ? 'muted' : heatClass(g.overallGeomean)}"><b>${g.isBaseline ? '1' : fmtRelative(g.overallGeomean)}</b></td>` +
        `<td class="flags">${h(flags.join(', '))}</td></tr>`
      );
    })
    .join('');
  let chart = '';
  if (compared.length > 0) {
    const rows: ChartRow[] = [...categories, 'overall'].map((c) => ({
      label: c === 'overall' ? 'Overall' : categoryName(c),
      sublabel: c === 'overall' ? 'geometric mean of the categories' : `geometric mean of ${c}.*`,
      bars: compared.map((g, gi) => {
        const cat = g.categories.find((x) => x.category === c);
        const value = c === 'overall' ? g.overallGeomean : cat?.geomean;
        return {
          series: gi,
          value,
          notes: [],
          missing: 'no baseline',
          title: `${g.key} · ${c === 'overall' ? 'overall' : categoryName(c)}: ${fmtRelative(value)}${cat === undefined ? '' : ` over ${cat.benchmarks} benchmark(s)`}`,
        };
      }),
    }));
    chart = `<div class="chart-box">${legend(series)}${barChartSvg({
      id: 'chart-summary',
      title: `Summary: geometric means relative to ${data.comparison.baseline}`,
      series,
      rows,
      axisNote: 'geometric mean relative to native — longer is better',
    })}</div>`;
  }
  const notes = groups
    .map(
      (g) =>
        `<li><b>${h(g.key)}</b>: ${h(runProvenanceLine(g))}${groupNoteLines(g)
          .map((n) => `<br><span class="note">${h(n)}</span>`)
          .join('')}</li>`,
    )
    .join('');
  const flags = `<dl class="flags">${FLAG_MEANINGS.map(([f, meaning]) => `<dt>${f}</dt><dd>${meaning}</dd>`).join('')}</dl><p class="muted">${h(INTERVAL_NOTE)}</p><ul class="group-notes">${notes}</ul>`;
  return (
    `<section id="summary"><h2>Summary</h2>` +
    `<p class="lead">Each group against <b>${h(data.comparison.baseline)}</b> on the same benchmarks and parameters: 1.000 is native speed, below is overhead. ` +
    'Geometric means per test group, and overall as the mean of the groups, so each weighs the same.</p>' +
    chart +
    `<div class="table-box"><table class="summary"><thead>${head}</thead><tbody>${body}</tbody></table></div>${flags}</section>`
  );
}

function stabilitySection(rows: readonly StabilityRow[]): string {
  if (rows.length === 0) return '';
  const body = rows
    .map(
      (s) =>
        `<tr data-group="${h(s.key)}"><td>${h(s.key)}</td><td class="num">${s.runs}</td>` +
        `<td class="num">${s.byStatus.completed}</td><td class="num">${s.byStatus.partial}</td><td class="num">${s.byStatus.failed}</td><td class="num">${s.byStatus.lost}</td>` +
        `<td class="num">${s.byStatus.cancelled}</td><td class="num">${s.byStatus.running}</td>` +
        `<td class="num">${s.silenceBeforeEnd === undefined ? '–' : `${fmtDuration(s.silenceBeforeEnd.medianMs)} / ${fmtDuration(s.silenceBeforeEnd.maxMs)}`}</td>` +
        `<td class="num">${fmtDuration(s.longestRunningSilenceMs)}</td>` +
        `<td class="num boot">${s.bootToAgent === undefined ? '–' : `${s.bootToAgent.seconds.toFixed(2)} s`}</td></tr>`,
    )
    .join('');
  const problems = rows
    .flatMap((s) => s.problems.map((p) => ({ key: s.key, ...p })))
    .map(
      (p) =>
        `<li><b>${p.status}</b> ${fmtTime(p.startedAtMs)} · ${h(p.key)} on ${h(p.hostname)} · <code>${h(p.runId)}</code>${p.error === '' ? '' : `: ${h(p.error)}`}</li>`,
    )
    .join('');
  return (
    '<section id="stability"><h2>Stability</h2>' +
    '<p class="lead">How each group\'s runs ended. A run is <b>lost</b> when its agent stops heartbeating: the guest crashed, hung or lost its network. ' +
    "A run is <b>partial</b> when some of its benchmarks failed: the others' samples are compared as usual, and the failed ones are listed below. " +
    '"Silence before end" is the time from a run\'s last heartbeat to its end (median / longest): a few seconds for a healthy run, the whole timeout for a lost one. ' +
    'Boot to agent is the kernel start to the agent being ready (<code>boot.to_agent</code>).</p>' +
    '<div class="table-box"><table class="stability"><thead><tr><th>group</th><th class="num">runs</th><th class="num">completed</th><th class="num">partial</th><th class="num">failed</th><th class="num">lost</th>' +
    '<th class="num">cancelled</th><th class="num">running</th><th class="num">silence before end</th><th class="num">running, silent for</th>' +
    `<th class="num">boot to agent</th></tr></thead><tbody>${body}</tbody></table></div>` +
    (problems === '' ? '' : `<h3>Partial, failed and lost runs (newest first)</h3><ul class="problems">${problems}</ul>`) +
    '</section>'
  );
}

function systemsSection(rows: readonly SystemRow[]): string {
  if (rows.length === 0) return '';
  const body = rows
    .map((s) => {
      const inv = s.inventory;
      const platform =
        s.declaredPlatform !== '' && s.declaredPlatform !== s.detectedPlatform
          ? `${h(s.platform)}<br><span class="muted">declared; detected ${h(s.detectedPlatform || 'nothing')}</span>`
          : h(s.platform);
      const evidence = s.evidence.map((e) => `<li><code>${h(e.source)}</code>: ${h(e.value)}${e.suggests === '' ? '' : ` → ${h(e.suggests)}`}</li>`).join('');
      const system = [inv.systemVendor, inv.systemModel].filter((p) => p !== '').join(' ');
      const cpu = [
        inv.cpus > 0 ? `${inv.cpus} vCPU${inv.cpus === 1 ? '' : 's'}` : '',
        fmtBytes(inv.memoryBytes) === '–' ? '' : fmtBytes(inv.memoryBytes),
      ].filter((p) => p !== '');
      return (
        `<tr data-host="${h(s.hostname)}"><td class="host">${h(s.hostname)}<br><span class="muted">${h(s.groups.join(', '))}<br>${s.runs} run${s.runs === 1 ? '' : 's'}, last ${fmtTime(s.lastRunAtMs)}</span></td>` +
        `<td>${platform}</td>` +
        `<td>${h(inv.cpuModel || '–')}<br><span class="muted">${cpu.join(' · ')}</span></td>` +
        `<td>${h(inv.kernel || '–')}<br><span class="muted">${h([inv.os, inv.arch].filter((p) => p !== '').join(' · '))}</span></td>` +
        `<td>${h(inv.clocksource || '–')}</td>` +
        `<td>${h(system || '–')}<br><span class="muted">agent ${h(s.agentVersion)} · node ${h(inv.nodeVersion || '?')}</span></td>` +
        `<td>${evidence === '' ? '<span class="muted">none recorded</span>' : `<ul class="evidence">${evidence}</ul>`}</td></tr>`
      );
    })
    .join('');
  return (
    '<section id="systems"><h2>Systems</h2>' +
    '<p class="lead">The inventory each agent reported with its newest run, and the evidence its platform was detected from.</p>' +
    '<div class="table-box"><table class="systems"><thead><tr><th>host</th><th>platform</th><th>CPU and memory</th><th>kernel</th><th>clocksource</th><th>system</th><th>hypervisor evidence</th></tr></thead>' +
    `<tbody>${body}</tbody></table></div></section>`
  );
}

function configurationsSection(view: ReportData['configurations']): string {
  if (view.groups.length === 0) return '';
  const body = view.groups
    .map(
      (g) =>
        `<tr data-config-group="${h(g.key)}"><td>${h(g.key)}</td><td>${h(
          Object.entries(g.settings)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        )}</td>` +
        `<td>${h(g.accelerator || '–')}</td><td>${h(g.hostKernel || '–')}</td><td>${h(g.qemuVersion || '–')}</td><td>${h(g.libvirtVersion || '–')}</td>` +
        `<td class="num">${g.configuredRuns}/${g.runs}${g.mixed ? ' (mixed)' : ''}</td></tr>`,
    )
    .join('');
  const effects = view.effects.map((e) => `<li data-setting="${h(e.setting)}">${h(formatEffect(e))}</li>`).join('');
  return (
    '<section id="configurations"><h2>Configurations</h2>' +
    '<p class="lead">The hypervisor configuration each group was run with (recorded by guestbench-lab), and the effect of each setting: ' +
    "for two groups that differ in that setting alone, the first value's performance relative to the second's, with its 95% interval (above 1 is better).</p>" +
    '<div class="table-box"><table class="configurations"><thead><tr><th>group</th><th>settings</th><th>accelerator</th><th>host kernel</th><th>QEMU</th><th>libvirt</th><th class="num">runs recorded</th></tr></thead>' +
    `<tbody>${body}</tbody></table></div>` +
    (effects === ''
      ? '<p class="note">No two groups differ in exactly one setting.</p>'
      : `<h3>Effect of each setting</h3><ul class="effects">${effects}</ul>`) +
    '</section>'
  );
}

function queryForm(data: ReportData): string {
  const q = data.query;
  const f = q.filter;
  const field = (name: string, label: string, value: string | undefined, placeholder: string): string =>
    `<label>${label}<input name="${name}" value="${h(value ?? '')}" placeholder="${h(placeholder)}"></label>`;
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
  const params = reportQueryParams(q).toString();
  return (
    '<form class="query" method="get" action="/">' +
    field('baseline', 'baseline', q.baseline, 'native') +
    field('groups', 'groups', q.groups.join(','), 'all, or kvm,xen/pv') +
    field('platform', 'platform', f.platform, 'any') +
    field('label', 'label', f.label, 'any') +
    field('host', 'host', f.hostname, 'any') +
    field('since', 'since', iso(f.since), '2024-05-01') +
    field('until', 'until', iso(f.until), '2024-05-31') +
    '<button type="submit">Show</button> <a href="/">reset</a></form>' +
    `<p class="downloads meta">This report as <a href="/api/v1/report?${h(params)}">JSON</a> · <a href="/report.csv?${h(params)}">CSV</a> · <a href="/report.md?${h(params)}">Markdown</a> · <a href="/report.html?${h(params)}">HTML file</a></p>`
  );
}

/** The whole page. */
export function renderHtml(data: ReportData, options: HtmlOptions = {}): string {
  const groups = data.comparison.groups;
  const compared = groups.filter((g) => !g.isBaseline);
  const series = seriesOf(compared);
  const categories = categoriesOf(data);
  const notes: string[] = [];
  if (groups.length === 0) notes.push('No finished runs match this query.');
  else if (data.comparison.baselineRunIds.length === 0) {
    notes.push(
      `No finished runs in the baseline group <b>${h(data.comparison.baseline)}</b>: values are shown, never ratioed (flag no-baseline). Run the agent on the bare host with <code>--platform native</code>.`,
    );
  } else if (compared.length === 0) notes.push('Only the baseline group has runs: there is nothing to compare with it yet.');
  const sections = categories.map((c, i) => {
    const chart = compared.length > 0 ? `<div class="chart-box">${legend(series)}${categoryChart(data, c, compared, series, i)}</div>` : '';
    return `<section id="cat-${i}" data-category="${h(c)}"><h2>${h(categoryName(c))}</h2>${chart}${measurementsTable(c, groups)}</section>`;
  });
  const toc = [
    '<a href="#summary">Summary</a>',
    ...categories.map((c, i) => `<a href="#cat-${i}">${h(categoryName(c))}</a>`),
    '<a href="#stability">Stability</a>',
    '<a href="#systems">Systems</a>',
  ].join('');
  const runs = data.stability.reduce((n, s) => n + s.runs, 0);
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    // An empty icon, so that a browser asks for nothing else.
    '<link rel="icon" href="data:,">' +
    `<title>guestbench report: ${h(groups.map((g) => g.key).join(', ') || 'no runs')}</title><style>${CSS}</style></head><body><main>` +
    '<header><h1>guestbench: what each guest gets of the bare metal</h1>' +
    `<p class="meta">${h(describeQuery(data))} · ${runs} run${runs === 1 ? '' : 's'} · generated ${fmtTime(data.generatedAtMs)}</p>` +
    (options.interactive === true ? queryForm(data) : '') +
    `<nav class="toc">${toc}</nav></header>` +
    notes.map((n) => `<p class="note">${n}</p>`).join('') +
    (groups.length > 0 ? summarySection(data, categories, compared, series) : '') +
    sections.join('') +
    stabilitySection(data.stability) +
    systemsSection(data.systems) +
    configurationsSection(data.configurations) +
    '<footer class="meta"><p>relative = guest/native when higher is better, native/guest when lower is better. ' +
    "The 95% interval is Welch's on log values: per run when both sides have two or more runs, else per trial. " +
    'Pairs only the same benchmark, parameters and agent major version.</p></footer>' +
    '</main></body></html>\n'
  );
}
