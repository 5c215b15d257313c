// A horizontal grouped bar chart as inline SVG, the 2009 study's charts made honest: one
// block per benchmark, one bar per group relative to native, the 95% interval as an error
// bar, and a line at 1.0. No script, no external asset; every string goes through escapeHtml.
import { escapeHtml, truncate } from './escape';

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
}

export interface ChartBar {
  /** Index into the chart's series. */
  readonly series: number;
  readonly value: number | undefined;
  readonly low?: number | undefined;
  readonly high?: number | undefined;
  /** Shown after the value, e.g. "noisy", "steal". */
  readonly notes: readonly string[];
  /** Shown instead of a bar when there is no value. @default "no baseline" */
  readonly missing?: string;
  /** The tooltip: everything known about this bar. */
  readonly title: string;
}

export interface ChartRow {
  readonly label: string;
  readonly sublabel: string;
  readonly bars: readonly ChartBar[];
}

export interface BarChart {
  /** Unique in the page, safe in an id (the caller's own text, not a guest's). */
  readonly id: string;
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly rows: readonly ChartRow[];
  /** Under the axis. @default what the bars and whiskers mean */
  readonly axisNote?: string;
}

const WIDTH = 860;
const LABEL_RIGHT = 214;
const PLOT_LEFT = 226;
const PLOT_WIDTH = 470;
const BAR_HEIGHT = 15;
const BAR_GAP = 3;
const ROW_PAD = 9;
const TOP = 26;
const BOTTOM = 40;
/** Beyond this the bar is cut and its value written: a 10× outlier must not squash the rest. */
const X_CAP = 3;

function fmt(v: number): string {
  return v.toFixed(3);
}

function scaleMax(rows: readonly ChartRow[]): { max: number; step: number } {
  const values = rows.flatMap((r) => r.bars.flatMap((b) => [b.value, b.high].filter((v): v is number => v !== undefined && Number.isFinite(v))));
  const wanted = Math.min(X_CAP, Math.max(1.2, ...values.map((v) => v * 1.04)));
  const step = wanted <= 1.6 ? 0.2 : wanted <= 2.4 ? 0.4 : 0.5;
  return { max: Math.min(X_CAP, Math.ceil(wanted / step - 1e-9) * step), step };
}

/** The chart as an `<svg>` element; its height follows its rows. */
export function barChartSvg(chart: BarChart): string {
  const { max, step } = scaleMax(chart.rows);
  const x = (v: number): number => PLOT_LEFT + (Math.max(0, Math.min(v, max)) / max) * PLOT_WIDTH;
  const out: string[] = [];
  // Drawn last, over the 1.0 line, each with a white halo so that lines never cross the digits.
  const labels: string[] = [];
  let y = TOP;
  chart.rows.forEach((row, ri) => {
    const n = Math.max(1, row.bars.length);
    const h = n * BAR_HEIGHT + (n - 1) * BAR_GAP + 2 * ROW_PAD;
    if (ri % 2 === 1) out.push(`<rect class="band" x="0" y="${y}" width="${WIDTH}" height="${h}" fill="#f4f6f8"/>`);
    const mid = y + h / 2;
    out.push(
      `<text class="row-label" x="${LABEL_RIGHT}" y="${mid - 2}" text-anchor="end" font-size="13" font-weight="600" fill="#1b1f24">` +
        `<title>${escapeHtml(row.label)}</title>${escapeHtml(truncate(row.label, 28))}</text>`,
      `<text x="${LABEL_RIGHT}" y="${mid + 12}" text-anchor="end" font-size="11" fill="#57606a">${escapeHtml(truncate(row.sublabel, 34))}</text>`,
    );
    row.bars.forEach((bar, bi) => {
      const series = chart.series[bar.series];
      const color = series?.color ?? '#888';
      const top = y + ROW_PAD + bi * (BAR_HEIGHT + BAR_GAP);
      const cy = top + BAR_HEIGHT / 2;
      const attrs = `class="bar" data-series="${escapeHtml(series?.name ?? '')}" data-row="${escapeHtml(row.label)}" data-relative="${bar.value === undefined ? '' : fmt(bar.value)}"`;
      const parts: string[] = [`<title>${escapeHtml(bar.title)}</title>`];
      if (bar.value === undefined || !Number.isFinite(bar.value)) {
        parts.push(
          `<text x="${PLOT_LEFT + 6}" y="${cy + 4}" font-size="11" font-style="italic" fill="#6e7781">${escapeHtml(bar.missing ?? 'no baseline')}</text>`,
        );
      } else {
        const noisy = bar.notes.includes('noisy');
        const w = Math.max(1, x(bar.value) - PLOT_LEFT);
        parts.push(
          `<rect x="${PLOT_LEFT}" y="${top}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" rx="2" fill="${color}"${noisy ? ` fill-opacity="0.45" stroke="${color}" stroke-dasharray="3 2"` : ''}/>`,
        );
        let end = x(bar.value);
        if (bar.low !== undefined && bar.high !== undefined && Number.isFinite(bar.low) && Number.isFinite(bar.high)) {
          const l = x(bar.low);
          const r = x(bar.high);
          // A whisker that runs past the axis ends in an arrowhead at the edge, not a cap: the
          // interval goes on. The value then stays at the bar's end, not out at the edge.
          const clippedHigh = bar.high > max;
          const rightEnd = clippedHigh
            ? `<path class="ci-clipped" d="M${(r - 7).toFixed(1)} ${cy - 5} L${r.toFixed(1)} ${cy} L${(r - 7).toFixed(1)} ${cy + 5} Z" fill="#1b1f24" stroke="none"><title>interval reaches ${fmt(bar.high)}, beyond the axis</title></path>`
            : `<line x1="${r.toFixed(1)}" y1="${cy - 5}" x2="${r.toFixed(1)}" y2="${cy + 5}"/>`;
          parts.push(
            `<g class="ci" stroke="#1b1f24" stroke-width="1.3"><line x1="${l.toFixed(1)}" y1="${cy}" x2="${r.toFixed(1)}" y2="${cy}"/>` +
              `<line x1="${l.toFixed(1)}" y1="${cy - 5}" x2="${l.toFixed(1)}" y2="${cy + 5}"/>${rightEnd}</g>`,
          );
          if (!clippedHigh) end = Math.max(end, r);
        }
        const clipped = bar.value > max;
        const label = `${clipped ? '▸ ' : ''}${fmt(bar.value)}`;
        labels.push(
          `<text class="value" x="${(end + 6).toFixed(1)}" y="${cy + 4}" font-size="11.5" fill="#1b1f24" font-variant-numeric="tabular-nums" paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round">${label}` +
            (bar.notes.length > 0 ? `<tspan fill="#bc4c00" font-size="10.5"> ${escapeHtml(bar.notes.join(' · '))}</tspan>` : '') +
            '</text>',
        );
      }
      out.push(`<g ${attrs}>${parts.join('')}</g>`);
    });
    y += h;
  });
  const plotBottom = y;
  const grid: string[] = [];
  for (let t = 0; t <= max + 1e-9; t += step) {
    const gx = x(t).toFixed(1);
    grid.push(`<line x1="${gx}" y1="${TOP - 4}" x2="${gx}" y2="${plotBottom}" stroke="#d0d7de" stroke-width="1"/>`);
    grid.push(`<text x="${gx}" y="${plotBottom + 15}" text-anchor="middle" font-size="11" fill="#57606a">${t.toFixed(1)}</text>`);
  }
  const one = x(1).toFixed(1);
  const reference =
    `<line class="native-line" x1="${one}" y1="${TOP - 8}" x2="${one}" y2="${plotBottom + 3}" stroke="#1b1f24" stroke-width="1.6" stroke-dasharray="5 3"/>` +
    `<text x="${one}" y="${TOP - 12}" text-anchor="middle" font-size="11" font-weight="600" fill="#1b1f24">native = 1.0</text>`;
  const height = plotBottom + BOTTOM;
  const axisTitle = `<text x="${PLOT_LEFT + PLOT_WIDTH / 2}" y="${plotBottom + 32}" text-anchor="middle" font-size="11.5" fill="#57606a">${escapeHtml(
    chart.axisNote ?? 'relative to native — longer is better; the whiskers are the 95% confidence interval',
  )}</text>`;
  return (
    `<svg class="chart" id="${chart.id}" role="img" aria-labelledby="${chart.id}-title" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" ` +
    `xmlns="http://www.w3.org/2000/svg" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">` +
    `<title id="${chart.id}-title">${escapeHtml(chart.title)}</title>` +
    // Bands, the grid, the bars, the 1.0 line over the bars, and the values over everything.
    out.filter((p) => p.startsWith('<rect class="band"')).join('') +
    grid.join('') +
    out.filter((p) => !p.startsWith('<rect class="band"')).join('') +
    reference +
    labels.join('') +
    axisTitle +
    '</svg>'
  );
}
