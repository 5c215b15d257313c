import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { parseLoadOptions } from '../../load/options';
import { runLoad } from '../../load/run-load';
import { parseProfile } from '../../profiles/profile';
import { parseWebTargets } from '../../web/pages';
import { startWebServer, type RunningWebServer } from '../../web/server';
import { writeSite } from '../../web/site';
import { BENCHMARK_IDS } from '../registry';
import { effectiveTransport } from '../../load/engine';
import { runBenchmark } from '../runner';
import type { BenchTargets } from '../types';
import { webCgiLarge, webCgiSmall, webStaticLarge, webStaticSmall } from './web-benchmark';

function profile(settings: Record<string, Record<string, unknown>>): ReturnType<typeof parseProfile> {
  return parseProfile(
    'test',
    { warmupSeconds: 0.01, trialSeconds: 0.05, minTrials: 3, maxTrials: 3, rsdThreshold: 0.5, budgetSeconds: 0.5, benchmarks: ['web.static_small'], settings },
    BENCHMARK_IDS,
  );
}

/** Children of this process whose command line mentions `word`, from /proc. */
function children(word: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(word)) found.push(Number(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

let work: string;
let site: RunningWebServer;
/** The agent as guests get it: one file, built here from the sources. */
let bundle: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'gb-webbench-'));
  writeSite(path.join(work, 'site'), { largeBytes: 64 * 1024 });
  site = await startWebServer({ siteDir: path.join(work, 'site') });
  bundle = path.join(work, 'guestbench-agent.js');
  buildSync({
    entryPoints: [path.join(__dirname, '../../cli/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'error',
  });
});

afterAll(async () => {
  await site.close();
  rmSync(work, { recursive: true, force: true });
});

describe('web benchmark settings', () => {
  it('refuses concurrency 0 and unknown keys, naming the benchmark', () => {
    expect(() => webStaticSmall.parseSettings({ concurrency: 0 })).toThrow(
      'web.static_small: setting "concurrency" must be a whole number from 1 to 10000, got 0',
    );
    expect(() => webStaticSmall.parseSettings({ mazeSize: 8 })).toThrow(/web.static_small: unknown setting "mazeSize"/);
    expect(webCgiLarge.parseSettings({ mazeSize: 8 })).toMatchObject({ mazeSize: 8, mazeSeed: 1, concurrency: 16, keepAlive: 0 });
  });
});

describe('web benchmarks against a given server (--web-target)', () => {
  it('measures req/s, p50 and p99 of each page, MB/s for the large ones', async () => {
    const targets: BenchTargets = { webTargets: parseWebTargets([site.url]) };
    for (const def of [webStaticSmall, webStaticLarge, webCgiSmall, webCgiLarge]) {
      const samples = await runBenchmark(def, { profile: profile({ [def.id]: { concurrency: 2, minSeconds: 0.1 } }), targets });
      const byMetric = Object.fromEntries(samples.map((s) => [s.metric, s]));
      expect(Object.keys(byMetric).sort()).toEqual(def === webStaticLarge || def === webCgiLarge ? ['p50', 'p99', 'rps', 'throughput'] : ['p50', 'p99', 'rps']);
      expect(byMetric['rps']?.value).toBeGreaterThan(0);
      expect(byMetric['rps']?.primary).toBe(true);
      expect(byMetric['p50']?.value).toBeLessThanOrEqual(byMetric['p99']?.value as number);
      expect(samples[0]?.trials).toHaveLength(3);
      // The transport actually used (handle, or net where Node's TCP bindings are missing) is a parameter.
      expect(samples[0]?.parameters).toMatchObject({
        server: 'external',
        generator: 'builtin',
        transport: effectiveTransport({ transport: 'handle' }),
        concurrency: '2',
        keepAlive: 'off',
      });
    }
  });

  it('refuses a page that does not answer 200 before measuring anything', async () => {
    const targets: BenchTargets = { webTargets: parseWebTargets([`cgi_small=${site.url}/cgi-bin/nothing`]) };
    await expect(runBenchmark(webCgiSmall, { profile: profile({}), targets })).rejects.toThrow(
      `web.cgi_small: GET ${site.url}/cgi-bin/nothing answered 404: no such program: /cgi-bin/nothing`,
    );
  });

  it('fails a trial in which requests failed, saying how many and why', async () => {
    let n = 0;
    const flaky = createServer((_q, res) => {
      res.statusCode = ++n > 5 ? 503 : 200;
      res.end('page');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/x`;
      await expect(runBenchmark(webStaticSmall, { profile: profile({}), targets: { webTargets: parseWebTargets([`static_small=${url}`]) } })).rejects.toThrow(
        /^web\.static_small: http:\/\/127\.0\.0\.1:\d+\/x: of \d+ requests, 0 failed \(connect 0, receive 0, length 0, exceptions 0\) and \d+ were answered non-2xx \(\d+× 503\)$/,
      );
    } finally {
      flaky.close();
    }
  });
});

describe('from the single-file bundle', () => {
  it('starts its own server (serve-web, CGI programs written at start) and stops it afterwards', async () => {
    process.env['GUESTBENCH_AGENT_ENTRY'] = bundle;
    try {
      for (const def of [webCgiSmall, webCgiLarge]) {
        const samples = await runBenchmark(def, {
          profile: profile({ [def.id]: { concurrency: 2, minSeconds: 0.1, ...(def === webCgiLarge ? { mazeSize: 16 } : {}) } }),
        });
        expect(samples.find((s) => s.metric === 'rps')?.value).toBeGreaterThan(0);
        expect(samples[0]?.parameters).toMatchObject({ server: 'builtin', page: def === webCgiLarge ? '/cgi-bin/maze?size=16&seed=1' : '/cgi-bin/env' });
        expect(children('serve-web')).toEqual([]);
      }
    } finally {
      delete process.env['GUESTBENCH_AGENT_ENTRY'];
    }
  });

  it('leaves no server behind when the agent that started it is killed', async () => {
    // A stand-in for an agent: starts the server as a benchmark does, says where, and waits.
    const entry = path.join(work, 'starter.ts');
    writeFileSync(
      entry,
      `import { startServerProcess } from ${JSON.stringify(path.join(__dirname, '../../web/server-process'))};
startServerProcess({ largeBytes: 4096 }).then((s) => console.log(JSON.stringify({ pid: s.pid, url: s.url })));
`,
    );
    const starter = path.join(work, 'starter.js');
    buildSync({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: starter, logLevel: 'error' });
    const agent = spawn(process.execPath, [starter], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GUESTBENCH_AGENT_ENTRY: bundle } });
    const line = await new Promise<string>((resolve) => agent.stdout?.once('data', (d: Buffer) => resolve(String(d))));
    const { pid, url } = JSON.parse(line) as { pid: number; url: string };
    expect((await fetch(`${url}/static/small`)).status).toBe(200);
    agent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('runs the load generator in worker threads of the bundle, with exact totals', async () => {
    const options = parseLoadOptions({ url: `${site.url}/static/small`, concurrency: 5, requests: 503, keepAlive: true, threads: 3 });
    const r = await runLoad(options, { workerScript: bundle });
    expect(r).toMatchObject({ completeRequests: 503, failedRequests: 0, keepAliveRequests: 503, htmlTransferred: 503 * 1024, concurrencyLevel: 5 });
  });
});
