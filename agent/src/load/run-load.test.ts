import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { failureSummary } from '../bench/web/web-benchmark';
import { startWebServer, type RunningWebServer } from '../web/server';
import { writeSite } from '../web/site';
import { handlesAvailable } from './handle-connection';
import { parseLoadOptions, type LoadInput } from './options';
import { toAbJson } from './report';
import { runLoad } from './run-load';

let dir: string;
let site: RunningWebServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gb-load-'));
  writeSite(dir, { largeBytes: 200_000 });
  writeFileSync(path.join(dir, 'cgi-bin', 'broken'), '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho half a page\nexit 3\n');
  chmodSync(path.join(dir, 'cgi-bin', 'broken'), 0o755);
  site = await startWebServer({ siteDir: dir });
});

afterAll(async () => {
  await site.close();
  rmSync(dir, { recursive: true, force: true });
});

const load = (input: LoadInput): ReturnType<typeof runLoad> => runLoad(parseLoadOptions(input));

/** The two transports with their own socket code; each must fail the same way. */
const SOCKET_TRANSPORTS = ['handle', 'net'] as const;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** A web server in a child process, so that it can be killed or frozen mid-run. */
function childServer(): Promise<{ child: ChildProcess; url: string }> {
  const code = `require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout?.once('data', (d: Buffer) => resolve({ child, url: `http://127.0.0.1:${String(d).trim()}/` })));
}

describe('the built-in load generator', () => {
  it('uses libuv TCP handles by default where Node has them (Node 20 does)', () => {
    expect(parseLoadOptions({ url: 'http://127.0.0.1/', requests: 1 }).transport).toBe('handle');
    expect(handlesAvailable()).toBe(true);
  });

  it.each([
    ['handle', true],
    ['handle', false],
    ['net', true],
    ['net', false],
    ['undici', true],
    ['undici', false],
  ] as const)('sends exactly the requests asked for over %s, keep-alive %s, and counts what came back', async (transport, keepAlive) => {
    const r = await load({ url: `${site.url}/static/small`, concurrency: 4, requests: 300, keepAlive, transport });
    expect(r).toMatchObject({
      completeRequests: 300,
      failedRequests: 0,
      non2xxResponses: 0,
      documentLength: 1024,
      htmlTransferred: 300 * 1024,
      keepAliveRequests: keepAlive ? 300 : 0,
      concurrencyLevel: 4,
      serverSoftware: expect.stringMatching(/^guestbench\//) as unknown,
      statuses: { '200': 300 },
    });
    // Every answer carries the same headers, so the bytes divide evenly.
    expect(r.totalTransferred % 300).toBe(0);
    expect(r.totalTransferred / 300).toBeGreaterThan(1024 + 100);
    expect(r.requestsPerSecond).toBeCloseTo(300 / r.timeTakenSeconds, 6);
    const ct = r.connectionTimes;
    expect(ct).toBeDefined();
    // A connection per request without keep-alive; with it, at most the first 4 paid for one.
    if (keepAlive) expect(ct?.connect.median).toBe(0);
    else expect(ct?.connect.min).toBeGreaterThan(0);
    expect(r.percentiles['50']).toBeLessThanOrEqual(r.percentiles['99'] as number);
    expect(r.percentiles['99.9']).toBeLessThanOrEqual(r.percentiles['100'] as number);
  });

  it.each(SOCKET_TRANSPORTS)('pipelines requests on keep-alive connections (%s transport)', async (transport) => {
    const r = await load({ url: `${site.url}/static/large`, concurrency: 2, requests: 64, keepAlive: true, pipelining: 8, transport });
    expect(r).toMatchObject({ completeRequests: 64, failedRequests: 0, htmlTransferred: 64 * 200_000 });
  });

  it('counts the 500 of a failing CGI program as a non-2xx answer, which fails a benchmark trial', async () => {
    const r = await load({ url: `${site.url}/cgi-bin/broken`, concurrency: 2, requests: 10 });
    expect(r).toMatchObject({ completeRequests: 10, non2xxResponses: 10, statuses: { '500': 10 } });
    expect(failureSummary(r)).toBe('of 10 requests, 0 failed (connect 0, receive 0, length 0, exceptions 0) and 10 were answered non-2xx (10× 500)');
    expect(toAbJson(r)['Non-2xx responses']).toBe(10);
  });

  it.each(SOCKET_TRANSPORTS)('counts answers whose length differs from the first as length failures, like ab (%s transport)', async (transport) => {
    let n = 0;
    const server = createServer((_q, s) => s.end('x'.repeat((n++ % 3) + 1)));
    try {
      const r = await load({ url: await listen(server), concurrency: 1, requests: 30, keepAlive: true, transport });
      expect(r.completeRequests).toBe(30);
      expect(r.failures).toEqual({ connect: 0, receive: 0, length: 20, exceptions: 0 });
      expect(r.failedRequests).toBe(20);
    } finally {
      server.close();
    }
  });

  it.each(SOCKET_TRANSPORTS)('counts connections refused as connect failures and still ends (%s transport)', async (transport) => {
    const r = await load({ url: 'http://127.0.0.1:1/', concurrency: 2, requests: 20, transport });
    expect(r.completeRequests).toBe(0);
    expect(r.failures.connect).toBe(20);
    expect(Object.keys(r.errors ?? {})[0]).toMatch(/^connect: .*ECONNREFUSED/);
  });

  it.each([
    ['handle', true],
    ['handle', false],
    ['net', true],
    ['net', false],
  ] as const)('reports a server that dies mid-run as failures, and ends with the duration (%s transport, keep-alive %s)', async (transport, keepAlive) => {
    const { child, url } = await childServer();
    setTimeout(() => child.kill('SIGKILL'), 300);
    const t0 = performance.now();
    const r = await load({ url, concurrency: 4, durationSeconds: 1.5, keepAlive, timeoutSeconds: 2, transport });
    expect((performance.now() - t0) / 1000).toBeLessThan(1.5 + 2 + 1);
    expect(r.completeRequests).toBeGreaterThan(0);
    expect(r.failures.connect + r.failures.receive).toBeGreaterThan(0);
  });

  it.each(SOCKET_TRANSPORTS)('times out a server that stops answering, instead of waiting for it (%s transport)', async (transport) => {
    const { child, url } = await childServer();
    try {
      setTimeout(() => child.kill('SIGSTOP'), 300);
      const t0 = performance.now();
      const r = await load({ url, concurrency: 3, durationSeconds: 1, keepAlive: true, timeoutSeconds: 1, transport });
      // The duration, then at most one timeout for what was in flight, then the check interval.
      expect((performance.now() - t0) / 1000).toBeLessThan(1 + 1 + 1);
      expect(r.completeRequests).toBeGreaterThan(0);
      expect(r.failures.exceptions).toBeGreaterThan(0);
      expect(Object.keys(r.errors ?? {})).toContain('exceptions: no response within the timeout');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const t0 = performance.now();
    const r = await runLoad(parseLoadOptions({ url: `${site.url}/static/small`, concurrency: 2, durationSeconds: 30, keepAlive: true }), {
      signal: controller.signal,
    });
    expect((performance.now() - t0) / 1000).toBeLessThan(2);
    expect(r.completeRequests).toBeGreaterThan(0);
  });

  it('measures a known latency distribution: percentiles land in the right groups', async () => {
    // 1000 requests: every 10th answered after 30 ms, every 100th after 80 ms, the rest at once.
    let n = 0;
    const server = createServer((_q, res) => {
      n++;
      const delay = n % 100 === 0 ? 80 : n % 10 === 0 ? 30 : 0;
      if (delay === 0) res.end('x');
      else setTimeout(() => res.end('x'), delay);
    });
    try {
      const r = await load({ url: await listen(server), concurrency: 8, requests: 1000, keepAlive: true });
      expect(r.completeRequests).toBe(1000);
      const p = r.percentiles as Record<string, number>;
      // Ranks 1–890 are immediate, 891–990 took 30 ms, 991–1000 took 80 ms.
      expect(p['80']).toBeLessThan(25);
      expect(p['95']).toBeGreaterThanOrEqual(29);
      expect(p['98']).toBeLessThan(79);
      expect(p['99.9']).toBeGreaterThanOrEqual(79);
      expect(p['100']).toBeGreaterThanOrEqual(79);
    } finally {
      server.close();
    }
  });

  it('in constant-rate mode holds the rate and charges a stall to every request it delayed', async () => {
    // Answers at once, except one answer held back 400 ms.
    let n = 0;
    const server = createServer((_q, s) => {
      if (++n === 40) setTimeout(() => s.end('late'), 400);
      else s.end('fast');
    });
    try {
      const r = await load({ url: await listen(server), concurrency: 2, durationSeconds: 1.5, keepAlive: true, rate: 100 });
      // About 150 requests were due; the stalled connection's schedule caught up afterwards.
      expect(r.completeRequests).toBeGreaterThan(100);
      expect(r.completeRequests).toBeLessThanOrEqual(152);
      const corrected = r.percentiles;
      const uncorrected = r.uncorrectedPercentiles ?? {};
      // Requests due during the stall waited for it: from their due time, ~20 of them took long.
      expect(corrected['90']).toBeGreaterThan(100);
      expect(uncorrected['90']).toBeLessThan(50);
      expect(corrected['100']).toBeGreaterThanOrEqual(390);
    } finally {
      server.close();
    }
  });
});
