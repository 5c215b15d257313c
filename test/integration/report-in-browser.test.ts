// The report as a user sees it: served by a real collector over HTTP, rendered by headless
// Chromium, checked for its charts, its numbers (against compare()), its escaping of what
// guests sent, and that it loads nothing but itself. Also the same report from the CLI.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { compare, type CompareResult, type ReportData } from '@guestbench/collector';
import { fillReportFixture, HOSTILE_HOSTNAME } from '../../collector/test/helpers/report-fixture';
import { launchBrowser, planBrowser } from '../helpers/browser';
import { COLLECTOR_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';

let h: Harness;
let expected: CompareResult;

beforeAll(async () => {
  h = await startHarness();
  await fillReportFixture(h.collector.store);
  expected = await compare(h.collector.store, { baseline: 'native' });
});

afterAll(async () => {
  await h?.close();
});

describe('the report over HTTP', () => {
  test('GET / is a self-contained HTML page that the browser is told may load nothing', async () => {
    const res = await fetch(`${h.collector.httpUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    // Nothing from elsewhere: no script, no stylesheet link, no remote URL at all.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/<link rel="stylesheet"/i);
  });

  test.each([
    ['/report.csv', 'text/csv; charset=utf-8', /^group,platform,label,is_baseline,category,benchmark/],
    ['/report.md', 'text/markdown; charset=utf-8', /^# guestbench report/],
    ['/report.txt', 'text/plain; charset=utf-8', /native \(baseline\)/],
  ])('%s is the same report as %s', async (p, type, start) => {
    const res = await fetch(`${h.collector.httpUrl}${p}?groups=kvm`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(await res.text()).toMatch(start);
  });

  test('GET /api/v1/report is the report as JSON, filtered by the query', async () => {
    const res = await fetch(`${h.collector.httpUrl}/api/v1/report?groups=kvm,xen&since=2024-05-01T10:00:00Z&until=2024-05-01`);
    expect(res.status).toBe(200);
    const data = (await res.json()) as ReportData;
    expect(data.comparison.groups.map((g) => g.key)).toEqual(['native', 'kvm', 'xen']);
    expect(data.stability.map((s) => [s.key, s.byStatus.lost])).toEqual([
      ['native', 0],
      ['kvm', 0],
      ['xen', 1],
    ]);
    // Only runs on metal01 (the native host): no guest group is left.
    const onHost = (await (await fetch(`${h.collector.httpUrl}/api/v1/report?host=metal01`)).json()) as ReportData;
    expect(onHost.comparison.groups.map((g) => g.key)).toEqual(['native']);
    // A window with no run in it.
    const empty = (await (await fetch(`${h.collector.httpUrl}/api/v1/report?until=2024-04-30`)).json()) as ReportData;
    expect(empty.comparison.groups).toEqual([]);
  });

  test.each([
    ['/?since=yesterday', /since: expected an ISO date/],
    ['/?until=2024-02-31', /until: expected an ISO date/],
    ['/?since=2024-05-02&until=2024-05-01', /since: must not be after until/],
    ['/?baseline=%3Cb%3E', /baseline: expected "platform" or "platform\/label"/],
    ['/?platform=KVM!', /platform: a platform name/],
    ['/?hostname=x', /unknown query parameter "hostname"/],
    ['/api/v1/compare?since=soon', /since: expected an ISO date/],
  ])('a bad query %s is 400 naming the parameter', async (p, message) => {
    const res = await fetch(`${h.collector.httpUrl}${p}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  test('/api/v1/compare takes the same filter', async () => {
    const res = await fetch(`${h.collector.httpUrl}/api/v1/compare?platform=xen`);
    expect(((await res.json()) as CompareResult).groups.map((g) => g.key)).toEqual(['native', 'xen']);
  });
});

describe('the report from the command line', () => {
  test('--format html --out writes the page; --url md reads a running collector', async () => {
    const out = path.join(h.dir, 'report.html');
    const file = await runCli(COLLECTOR_CLI, ['report', '--db', path.join(h.dir, 'guestbench.db'), '--out', out, '--groups', 'kvm']);
    expect(file.stderr).toMatch(/wrote html report/);
    expect(file.code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/<svg class="chart"/);
    expect(html).not.toContain('<form'); // a file has no collector behind it to ask
    const md = await runCli(COLLECTOR_CLI, ['report', '--url', h.collector.httpUrl, '--format', 'md', '--platform', 'kvm']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# guestbench report/);
    expect(md.stdout).toContain(
      `| kvm | 3 | ${expected.groups
        .find((g) => g.key === 'kvm')!
        .categories.find((c) => c.category === 'cpu')!
        .geomean!.toFixed(3)}`,
    );
    const bad = await runCli(COLLECTOR_CLI, ['report', '--url', h.collector.httpUrl, '--since', 'tomorrow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since: expected an ISO date/);
  });
});

const plan = planBrowser();
if (plan.kind === 'skip') {
  console.warn(`\n!!! report-in-browser.test.ts: the Chromium tests are SKIPPED: ${plan.reason}\n`);
}
(plan.kind === 'run' ? describe : describe.skip)('the report page in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const res = await page.goto(`${h.collector.httpUrl}/`);
    expect(res?.status()).toBe(200);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
  });

  const groupOf = (key: string) => expected.groups.find((g) => g.key === key)!;

  test('it loads nothing but itself, runs nothing, and shows a hostile hostname as text', async () => {
    expect(requested).toEqual([`${h.collector.httpUrl}/`]);
    expect(pageErrors).toEqual([]);
    expect(await page.locator('script, img, iframe, object').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.title()).toMatch(/^guestbench report: native, kvm/);
    await expect(page.locator('#systems td.host').filter({ hasText: 'vm3"><img src=x' }).count()).resolves.toBe(1);
    const shown = await page.locator('#systems tr[data-host] td.host').allTextContents();
    expect(shown.some((t) => t.startsWith(HOSTILE_HOSTNAME))).toBe(true);
  });

  test('one chart per test group present, each drawn with a bar per group and benchmark', async () => {
    const categories = await page.locator('section[data-category]').evaluateAll((els) => els.map((e) => e.getAttribute('data-category')));
    expect(categories).toEqual(['cpu', 'mem', 'sys', 'disk', 'net', 'web', 'boot']);
    for (const c of categories) {
      const chart = page.locator(`section[data-category="${c}"] svg.chart`);
      expect(await chart.count()).toBe(1);
      const box = await chart.boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      expect(box!.height).toBeGreaterThan(100);
    }
    // CPU: six benchmarks, one of them (cpu.memory) in two parameter variants, times four groups.
    expect(await page.locator('section[data-category="cpu"] g.bar').count()).toBe(7 * 4);
    const legend = await page.locator('section[data-category="cpu"] ul.legend li').allTextContents();
    expect(legend).toEqual(['kvm', 'kvm/virtio-scsi', 'vmware', 'xen']);
  });

  test('bar lengths, error bars and the 1.0 line agree with the numbers', async () => {
    const chart = page.locator('section[data-category="disk"] svg.chart');
    const one = (await chart.locator('line.native-line').boundingBox())!;
    const zero = (await chart.locator('g.bar rect').first().boundingBox())!.x;
    const kvmDisk = groupOf('kvm').benchmarks.find((b) => b.benchmarkId === 'disk.seq_write')!;
    const bar = chart.locator(`g.bar[data-series="kvm"][data-row="disk.seq_write"]`);
    expect(await bar.getAttribute('data-relative')).toBe(kvmDisk.relative!.toFixed(3));
    const rect = (await bar.locator('rect').boundingBox())!;
    // The bar ends where its value lies between 0 and the 1.0 line (to within a pixel or two).
    const perUnit = one.x + one.width / 2 - zero;
    expect(Math.abs(rect.x + rect.width - zero - kvmDisk.relative! * perUnit)).toBeLessThan(2.5);
    const ci = (await bar.locator('g.ci').boundingBox())!;
    expect(Math.abs(ci.x - zero - kvmDisk.ciLow! * perUnit)).toBeLessThan(3);
    expect(Math.abs(ci.x + ci.width - zero - kvmDisk.ciHigh! * perUnit)).toBeLessThan(3);
    // Every chart has a 1.0 line and every measured bar its whiskers.
    expect(await page.locator('svg.chart line.native-line').count()).toBe(8);
    const measured = await page.locator('section[data-category] g.bar rect').count();
    expect(await page.locator('section[data-category] g.bar g.ci').count()).toBe(measured);
    // What was not measured, or has no baseline, is said, not drawn.
    expect(await page.locator('section[data-category="web"] g.bar[data-series="xen"]', { hasText: 'not measured' }).count()).toBe(1);
    expect(await page.locator('section[data-category="cpu"] g.bar[data-series="vmware"]', { hasText: 'no baseline' }).count()).toBe(1);
  });

  test('the summary table holds the geometric means per test group and overall, and the flags', async () => {
    for (const g of expected.groups.filter((x) => !x.isBaseline)) {
      const row = page.locator(`table.summary tr[data-group="${g.key}"]`);
      for (const c of g.categories) {
        expect(await row.locator(`td[data-category="${c.category}"]`).textContent()).toBe(c.geomean!.toFixed(3));
      }
      expect(await row.locator('td.overall').textContent()).toBe(g.overallGeomean!.toFixed(3));
    }
    expect(await page.locator('table.summary tr[data-group="vmware"] td.flags').textContent()).toMatch(/noisy.*no-baseline/);
    expect(await page.locator('table.summary tr[data-group="xen"] td.flags').textContent()).toMatch(/steal/);
    expect(await page.locator('table.summary tr[data-group="native"]').textContent()).toMatch(/baseline/);
  });

  test('stability: runs by how they ended, silence before the end, boot to agent; and each system', async () => {
    const cells = async (key: string) => page.locator(`table.stability tr[data-group="${key}"] td`).allTextContents();
    // group, runs, completed, partial, failed, lost, cancelled, running, silence before end
    expect((await cells('xen')).slice(0, 8)).toEqual(['xen', '4', '3', '0', '0', '1', '0', '0']);
    expect((await cells('xen'))[8]).toBe('2.0 s / 30.0 s');
    expect((await cells('vmware')).slice(0, 5)).toEqual(['vmware', '3', '2', '0', '1']);
    const kvmBoot = groupOf('kvm').benchmarks.find((b) => b.benchmarkId === 'boot.to_agent')!;
    expect(await page.locator('table.stability tr[data-group="kvm"] td.boot').textContent()).toBe(`${kvmBoot.groupValue.toFixed(2)} s`);
    expect(await page.locator('ul.problems li').allTextContents()).toEqual([
      expect.stringMatching(/^failed .* vmware on vm3"><img .* run-vmware-failed: disk\.seq_write: ENOSPC <b>no space<\/b>$/),
      expect.stringMatching(/^lost .* xen on vm2-xen · run-xen-lost: no heartbeat/),
    ]);
    const kvmHost = await page.locator('#systems tr[data-host="vm1-kvm"]').textContent();
    expect(kvmHost).toMatch(/kvm, kvm\/virtio-scsi/);
    expect(kvmHost).toMatch(/AMD EPYC 7302P/);
    expect(kvmHost).toMatch(/4 vCPUs · 8\.0 GiB/);
    expect(kvmHost).toMatch(/kvm-clock/);
    expect(kvmHost).toMatch(/Hypervisor detected: KVM/);
  });

  test('the form narrows the report, and a screenshot of the page can be taken', async () => {
    await page.fill('form.query input[name="groups"]', 'xen');
    // Until 21:00 keeps the native runs (10:00 to 12:00) and Xen's three completed ones, not its lost one at 23:00.
    await page.fill('form.query input[name="until"]', '2024-05-01T21:00');
    await Promise.all([page.waitForURL(/groups=xen/), page.click('form.query button[type="submit"]')]);
    expect(await page.locator('table.summary tr[data-group]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group')))).toEqual(['native', 'xen']);
    expect(await page.locator('section[data-category="cpu"] g.bar').count()).toBe(6);
    expect(await page.locator('table.stability tr[data-group="xen"] td').nth(1).textContent()).toBe('3');
    await page.goto(`${h.collector.httpUrl}/`);
    const shot = process.env['GUESTBENCH_SCREENSHOT'] ?? path.join(h.dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(50_000);
  });
});
