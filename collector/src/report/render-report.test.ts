import { EMPTY_INVENTORY } from '../model';
import { parseReportQuery, parseTime, reportQueryParams } from '../query/parse-report-query';
import { SqliteStore } from '../store/sql-store';
import { fillReportFixture, HOSTILE_HOSTNAME } from '../../test/helpers/report-fixture';
import { buildReport, type ReportData } from './build-report';
import { csvField, escapeHtml, escapeMarkdown } from './escape';
import { renderReport } from './render-report';
import { barChartSvg } from './svg-bar-chart';

const NOW = Date.UTC(2024, 4, 2);

async function fixtureReport(query = { baseline: 'native', groups: [] as string[], filter: {} }): Promise<ReportData> {
  const store = new SqliteStore(':memory:');
  try {
    await fillReportFixture(store);
    return await buildReport(store, query, NOW);
  } finally {
    await store.close();
  }
}

describe('parseReportQuery', () => {
  const parse = (q: string) => parseReportQuery(new URLSearchParams(q));

  test('defaults, empty form fields, and every parameter', () => {
    expect(parse('')).toEqual({ ok: true, value: { baseline: 'native', groups: [], filter: {} } });
    expect(parse('baseline=&groups=&platform=&label=&host=&since=&until=')).toEqual({ ok: true, value: { baseline: 'native', groups: [], filter: {} } });
    expect(parse('baseline=kvm/base&groups=xen, vmware&groups=qemu&platform=xen&label=pv&host=h 1&since=1714521600000&until=2024-05-01')).toEqual({
      ok: true,
      value: {
        baseline: 'kvm/base',
        groups: ['xen', 'vmware', 'qemu'],
        filter: { platform: 'xen', label: 'pv', hostname: 'h 1', since: 1714521600000, until: Date.UTC(2024, 4, 2) - 1 },
      },
    });
  });

  test('times: dates are UTC days, date-times UTC unless they carry an offset', () => {
    expect(parseTime('2024-05-01', 'since', false)).toEqual({ ok: true, value: Date.UTC(2024, 4, 1) });
    expect(parseTime('2024-05-01', 'until', true)).toEqual({ ok: true, value: Date.UTC(2024, 4, 2) - 1 });
    expect(parseTime('2024-05-01T12:30', 'since', true)).toEqual({ ok: true, value: Date.UTC(2024, 4, 1, 12, 30) });
    expect(parseTime('2024-05-01T12:30:00+02:00', 'since', false)).toEqual({ ok: true, value: Date.UTC(2024, 4, 1, 10, 30) });
    expect(parseTime('2024-05-01T12:30:00.250Z', 'since', false)).toEqual({ ok: true, value: Date.UTC(2024, 4, 1, 12, 30, 0, 250) });
    for (const bad of ['2024-02-30', '2024-13-01', 'May 1', '2024-5-1', '-5', '1e12', '2024-05-01T25:00']) {
      expect(parseTime(bad, 'since', false)).toMatchObject({ ok: false, error: expect.stringMatching(/^since: expected an ISO date/) });
    }
  });

  test.each([
    ['colour=red', /unknown query parameter "colour"/],
    ['baseline=a b', /^baseline: expected "platform" or "platform\/label"/],
    ['groups=kvm,NOT OK', /^groups: expected/],
    ['platform=Xen', /^platform: a platform name/],
    ['host=a&host=b', /^host: give it once/],
    [`label=${'x'.repeat(256)}`, /^label: at most 255 characters/],
    ['since=2024-05-02&until=2024-05-01', /^since: must not be after until/],
  ])('refuses %s', (q, message) => {
    expect(parse(q)).toMatchObject({ ok: false, error: expect.stringMatching(message) });
  });

  test('reportQueryParams gives back the same query', () => {
    const q = parse('baseline=native&groups=kvm,xen&platform=kvm&host=h&since=2024-05-01&until=2024-05-03');
    if (!q.ok) throw new Error(q.error);
    expect(parseReportQuery(reportQueryParams(q.value))).toEqual(q);
  });
});

describe('escaping what guests send', () => {
  test('HTML: markup and quotes become text; control characters are replaced', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&amp;\u0007</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;\uFFFD&lt;/a&gt;');
  });

  test('Markdown: a cell cannot end the cell, start a link or carry HTML', () => {
    expect(escapeMarkdown('a|b\n[x](javascript:y) <img> *z*')).toBe('a\\|b \\[x\\](javascript:y) \\<img\\> \\*z\\*');
  });

  test('CSV: quotes and commas are quoted, and a formula is not a formula', () => {
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('-1+2')).toBe("'-1+2");
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
  });
});

describe('the report from a store', () => {
  let data: ReportData;
  beforeAll(async () => {
    data = await fixtureReport();
  });

  test('stability counts every run by how it ended, and the silence before each end', () => {
    const xen = data.stability.find((s) => s.key === 'xen')!;
    expect(xen.byStatus).toEqual({ completed: 3, partial: 0, failed: 0, lost: 1, cancelled: 0, running: 0 });
    expect(xen.silenceBeforeEnd).toEqual({ runs: 4, medianMs: 2_000, maxMs: 30_000 });
    expect(xen.problems.map((p) => [p.runId, p.status])).toEqual([['run-xen-lost', 'lost']]);
    expect(data.stability.map((s) => s.key)).toEqual(['native', 'kvm', 'kvm/virtio-scsi', 'vmware', 'xen']);
    const kvmBoot = data.comparison.groups.find((g) => g.key === 'kvm')!.benchmarks.find((b) => b.benchmarkId === 'boot.to_agent')!;
    expect(data.stability.find((s) => s.key === 'kvm')!.bootToAgent).toEqual({ seconds: kvmBoot.groupValue, runs: 3 });
  });

  test('one system per agent, with every group it ran in', () => {
    expect(data.systems.map((s) => [s.hostname, s.groups])).toEqual([
      ['metal01', ['native']],
      ['vm1-kvm', ['kvm', 'kvm/virtio-scsi']],
      [HOSTILE_HOSTNAME, ['vmware']],
      ['vm2-xen', ['xen']],
    ]);
  });

  test('a still-running run counts as running, with how long it has been silent', async () => {
    const store = new SqliteStore(':memory:');
    await store.upsertAgent({
      id: 'a',
      hostname: 'h',
      declaredPlatform: '',
      detectedPlatform: 'kvm',
      platform: 'kvm',
      evidence: [],
      inventory: EMPTY_INVENTORY,
      agentVersion: '0.1.0',
      enrolledAtMs: 1,
    });
    await store.startRun({ id: 'r', agentId: 'a', label: '', profile: 'smoke', agentVersion: '0.1.0', startedAtMs: NOW - 60_000, jobId: '' });
    await store.recordHeartbeat('r', NOW - 25_000);
    const report = await buildReport(store, { baseline: 'native', groups: [], filter: {} }, NOW);
    await store.close();
    expect(report.comparison.groups).toEqual([]);
    expect(report.stability).toMatchObject([{ key: 'kvm', runs: 1, byStatus: { running: 1 }, longestRunningSilenceMs: 25_000, silenceBeforeEnd: undefined }]);
    expect(renderReport(report, 'html')).toMatch(/No finished runs match this query/);
  });

  test('HTML shows the hostile strings as text only', () => {
    const html = renderReport(data, 'html');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain(escapeHtml(HOSTILE_HOSTNAME));
    expect(html).toContain('ENOSPC &lt;b&gt;no space&lt;/b&gt;');
  });

  test('Markdown keeps one row per line and its table shape', () => {
    const md = renderReport(data, 'md');
    // Markup from guests is backslash-escaped: no < stands unescaped.
    expect(md).not.toMatch(/(?<!\\)</);
    expect(md).toContain('\\<img src=x');
    const summary = md.split('\n').filter((l) => /^\| (native|kvm|vmware|xen)/.test(l));
    expect(summary.length).toBeGreaterThanOrEqual(5);
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    const header = rows.find((l) => l.startsWith('| host |'))!;
    for (const r of rows.slice(rows.indexOf(header))) expect(cells(r)).toBe(cells(header));
  });

  test('CSV: one row per group and measurement, every row as wide as the header', () => {
    const lines = renderReport(data, 'csv').trimEnd().split('\r\n');
    const count = data.comparison.groups.reduce((n, g) => n + g.benchmarks.length, 0);
    expect(lines).toHaveLength(count + 1);
    const width = lines[0]!.split(',').length;
    for (const l of lines) expect(l.split(',').length).toBe(width);
    expect(lines.find((l) => l.startsWith('kvm,kvm,,false,disk,disk.seq_write,'))).toBeDefined();
  });

  test('text: the terminal table, then stability, with no control character from a guest', async () => {
    const store = new SqliteStore(':memory:');
    await fillReportFixture(store);
    await store.upsertAgent({
      id: 'evil',
      hostname: 'evil\u001b[2J\u001b]0;owned\u0007',
      declaredPlatform: '',
      detectedPlatform: 'qemu',
      platform: 'qemu',
      evidence: [],
      inventory: EMPTY_INVENTORY,
      agentVersion: '0.1.0',
      enrolledAtMs: 1,
    });
    await store.startRun({ id: 'e', agentId: 'evil', label: '', profile: 'quick', agentVersion: '0.1.0', startedAtMs: 1, jobId: '' });
    await store.endRun('e', { status: 'failed', error: '', endedAtMs: 2 });
    const text = renderReport(await buildReport(store, { baseline: 'native', groups: [], filter: {} }, NOW), 'text');
    await store.close();
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(text).toMatch(/evil\uFFFD\[2J/);
    expect(text).toMatch(/^Stability$/m);
  });
});

describe('barChartSvg', () => {
  test('a value beyond the scale is cut and written; a missing one is named, not drawn', () => {
    const svg = barChartSvg({
      id: 'c',
      title: 'T',
      series: [{ name: 'a', color: '#000' }],
      rows: [
        { label: 'far', sublabel: '', bars: [{ series: 0, value: 7.5, low: 6, high: 9, notes: [], title: 'x' }] },
        { label: 'none', sublabel: '', bars: [{ series: 0, value: undefined, notes: [], missing: 'no baseline', title: 'y' }] },
      ],
    });
    expect(svg).toContain('▸ 7.500');
    expect(svg).toMatch(/<text[^>]*>no baseline<\/text>/);
    // The scale stops at 3: the axis ends there.
    expect(svg).toMatch(/>3\.0<\/text>/);
    expect(svg).not.toMatch(/>3\.5<\/text>/);
  });

  test("a whisker cut at the axis edge ends in a marker, and the value sits at the bar's end", () => {
    const chart = (high: number): string =>
      barChartSvg({
        id: 'c',
        title: 'T',
        series: [{ name: 'a', color: '#000' }],
        // One bar at 1.5 fixes the scale at 1.6 (cap 3 is not reached by a value of 1.5 alone)…
        rows: [
          { label: 'ok', sublabel: '', bars: [{ series: 0, value: 1.5, low: 1.45, high: 1.52, notes: [], title: 'x' }] },
          { label: 'wide', sublabel: '', bars: [{ series: 0, value: 0.5, low: 0.2, high, notes: [], title: 'y' }] },
        ],
      });
    const valueX = (svg: string, text: string): number =>
      Number(new RegExp(`<text class="value" x="([\\d.]+)"[^>]*>${text.replace('.', '\\.')}`).exec(svg)?.[1]);
    const barEnd = (svg: string): number => {
      const m = /data-row="wide"[^>]*><title>y<\/title><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(svg);
      return Number(m?.[1]) + Number(m?.[2]);
    };
    // …so a whisker up to 9 is cut: an arrowhead at the edge, the label right of the bar.
    const cut = chart(9);
    expect(cut.match(/class="ci-clipped"/g)).toHaveLength(1);
    expect(cut).toContain('interval reaches 9.000, beyond the axis');
    expect(valueX(cut, '0.500')).toBeCloseTo(barEnd(cut) + 6, 0);
    // A whisker inside the axis keeps its cap, and the value goes after it.
    const inside = chart(1.0);
    expect(inside).not.toContain('ci-clipped');
    expect(valueX(inside, '0.500')).toBeGreaterThan(barEnd(inside) + 6 + 50);
  });
});

describe('intervals from one run', () => {
  test('a bar whose interval rests on a single run says so beside its value; one from several runs does not', async () => {
    const data = await fixtureReport();
    const withCi = data.comparison.groups
      .filter((g) => !g.isBaseline)
      .flatMap((g) => g.benchmarks.filter((b) => b.primary && b.ciLow !== undefined && b.groupRuns > 1 && b.baselineRuns > 1));
    expect(withCi.length).toBeGreaterThan(1);
    expect(renderReport(data, 'html')).not.toContain('interval from 1 run');
    // The same report with one measurement's group down to a single run.
    const target = withCi[0]!;
    const oneRun: ReportData = {
      ...data,
      comparison: {
        ...data.comparison,
        groups: data.comparison.groups.map((g) => ({ ...g, benchmarks: g.benchmarks.map((b) => (b === target ? { ...b, groupRuns: 1 } : b)) })),
      },
    };
    expect(renderReport(oneRun, 'html').match(/interval from 1 run<\/tspan>/g)).toHaveLength(1);
  });
});

describe('what explains a ratio, in every format', () => {
  test('"baseline is not bare metal", each run\'s detected platform, and how each interval was computed', async () => {
    const store = new SqliteStore(':memory:');
    const agent = (id: string, declared: string, detected: string) => ({
      id,
      hostname: `${id}-host`,
      declaredPlatform: declared,
      detectedPlatform: detected,
      platform: declared,
      evidence: [],
      inventory: { ...EMPTY_INVENTORY, cpus: 2 },
      agentVersion: '0.1.0',
      enrolledAtMs: 1,
    });
    await store.upsertAgent(agent('host', 'native', 'other'));
    await store.upsertAgent(agent('guest', 'kvm', 'kvm'));
    let t = 1000;
    for (const [id, agentId, v] of [
      ['n1', 'host', 100],
      ['n2', 'host', 104],
      ['k1', 'guest', 80],
      ['k2', 'guest', 83],
    ] as const) {
      await store.startRun({ id, agentId, label: '', profile: 'smoke', agentVersion: '0.1.0', startedAtMs: t++, jobId: '' });
      await store.insertSamples(id, [
        {
          id: `${id}:cpu`,
          runId: id,
          benchmarkId: 'cpu.int32',
          metric: 'throughput',
          unit: 'ops/s',
          direction: 'higher',
          value: v,
          trials: [v, v, v],
          trialCount: 3,
          rsd: 0,
          stealFraction: 0,
          parameters: {},
          primary: true,
          clocksource: 'tsc',
          durationSeconds: 1,
          finishedAtMs: t,
          flags: [],
        },
      ]);
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: t++ });
    }
    const data = await buildReport(store, { baseline: 'native', groups: [], filter: {} }, NOW);
    await store.close();
    for (const format of ['text', 'md', 'html'] as const) {
      const out = renderReport(data, format);
      expect([format, out.includes('baseline is not bare metal: its runs were declared native, but detection said other on host-host')]).toEqual([
        format,
        true,
      ]);
      expect([format, /declared native, detected other/.test(out)]).toEqual([format, true]);
      expect([format, /±\d+\.\d% between-runs, MDE \d+\.\d%/.test(out)]).toEqual([format, true]);
    }
    expect(renderReport(data, 'csv').split(/\r?\n/)[0]).toMatch(/,ci_method,half_width,min_detectable\s*$/);
  });
});
