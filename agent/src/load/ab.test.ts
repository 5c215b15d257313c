import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWebServer, type RunningWebServer } from '../web/server';
import { writeSite } from '../web/site';
import { abArguments, AbError, parseAbCsv, parseAbOutput, runAb } from './ab';
import { parseLoadOptions } from './options';

// Outputs of the real ab 2.3 (apache2-utils) against nginx 1.22, captured once.
const fixture = (name: string): string => readFileSync(path.join(__dirname, '../../test/fixtures/ab', name), 'utf8');

describe('parseAbOutput on outputs of the real ab', () => {
  it('reads a keep-alive run (ab -k)', () => {
    const r = parseAbOutput(fixture('keepalive.txt'));
    expect(r).toMatchObject({
      generator: 'ab',
      serverSoftware: 'nginx/1.22.1',
      serverHostname: '127.0.0.1',
      serverPort: 18080,
      documentPath: '/static/small',
      documentLength: 1024,
      concurrencyLevel: 8,
      timeTakenSeconds: 0.128,
      completeRequests: 2000,
      failedRequests: 0,
      failures: { connect: 0, receive: 0, length: 0, exceptions: 0 },
      non2xxResponses: 0,
      keepAliveRequests: 2000,
      totalTransferred: 2528000,
      htmlTransferred: 2048000,
      requestsPerSecond: 15629.27,
      timePerRequestMs: 0.512,
      timePerRequestAcrossMs: 0.064,
      transferRateKBps: 19292.38,
    });
    expect(r.connectionTimes?.total).toEqual({ min: 0, mean: 0, sd: 3.9, median: 0, max: 62 });
    expect(r.connectionTimes?.connect).toEqual({ min: 0, mean: 0, sd: 0.1, median: 0, max: 5 });
    expect(r.percentiles).toEqual({ '50': 0, '66': 0, '75': 0, '80': 0, '90': 0, '95': 0, '98': 0, '99': 1, '100': 62 });
  });

  it('reads a run without keep-alive: no Keep-Alive line, connections timed', () => {
    const text = fixture('no-keepalive.txt');
    const r = parseAbOutput(text);
    expect(r.keepAliveRequests).toBe(0);
    expect(text).not.toContain('Keep-Alive requests');
    expect(r.completeRequests).toBe(2000);
    expect(r.failedRequests).toBe(0);
    expect(r.documentLength).toBe(1024);
    // nginx says "Connection: close" instead of "Connection: keep-alive": 5 bytes fewer per answer.
    expect(parseAbOutput(fixture('keepalive.txt')).totalTransferred - r.totalTransferred).toBe(2000 * 5);
    expect(Number(/Requests per second:\s+([\d.]+)/.exec(text)?.[1])).toBe(r.requestsPerSecond);
    expect(r.connectionTimes).toBeDefined();
    expect(Object.keys(r.percentiles)).toEqual(['50', '66', '75', '80', '90', '95', '98', '99', '100']);
  });

  it('reads a timed run (ab -t)', () => {
    const r = parseAbOutput(fixture('keepalive-timed.txt'));
    expect(r.completeRequests).toBeGreaterThan(0);
    expect(r.keepAliveRequests).toBe(r.completeRequests);
    // ab prints the time to the millisecond, so the rate it printed agrees within that.
    expect(Math.abs(r.requestsPerSecond / (r.completeRequests / r.timeTakenSeconds) - 1)).toBeLessThan(0.01);
  });

  it('reads failed requests by kind and non-2xx responses', () => {
    const length = parseAbOutput(fixture('length-failures.txt'));
    expect(length.failedRequests).toBe(264);
    expect(length.failures).toEqual({ connect: 0, receive: 0, length: 264, exceptions: 0 });
    const missing = parseAbOutput(fixture('non-2xx.txt'));
    expect(missing.non2xxResponses).toBe(200);
    expect(missing.completeRequests).toBe(200);
    expect(missing.failedRequests).toBe(0);
  });

  it('turns an ab that gave up into an AbError naming its reason', () => {
    expect(() => parseAbOutput(fixture('refused.txt'))).toThrow(AbError);
    expect(() => parseAbOutput(fixture('refused.txt'))).toThrow(/apr_socket_recv: Connection refused \(111\)/);
    expect(() => parseAbOutput('')).toThrow(/ab gave no report/);
  });

  it('reads the CSV of -e at microsecond precision', () => {
    expect(parseAbCsv('Percentage served,Time in ms\n0,0.051\n50,0.131\n66,0.2\n99,0.351\n100,9.448\n')).toEqual({
      '50': 0.131,
      '66': 0.2,
      '99': 0.351,
      '100': 9.448,
    });
  });
});

describe('abArguments', () => {
  const url = 'http://127.0.0.1:8080/cgi-bin/maze?size=8&seed=2';

  it('maps options onto ab flags, -t before -n', () => {
    const args = abArguments(parseLoadOptions({ url, concurrency: 4, durationSeconds: 2, keepAlive: true }), '/tmp/p.csv');
    expect(args.slice(0, 6)).toEqual(['-c', '4', '-t', '2', '-n', '5000000']);
    expect(args).toContain('-k');
    expect(args.slice(-3)).toEqual(['-e', '/tmp/p.csv', url]);
    expect(abArguments(parseLoadOptions({ url, concurrency: 2, requests: 10 }), undefined).slice(0, 4)).toEqual(['-c', '2', '-n', '10']);
  });

  it('refuses what ab cannot do', () => {
    expect(() => abArguments(parseLoadOptions({ url, requests: 9, keepAlive: true, pipelining: 4 }), undefined)).toThrow(/cannot pipeline/);
    expect(() => abArguments(parseLoadOptions({ url, requests: 9, rate: 100 }), undefined)).toThrow(/constant-rate/);
    expect(() => abArguments(parseLoadOptions({ url, concurrency: 2, requests: 9, threads: 2 }), undefined)).toThrow(/one thread/);
  });
});

const haveAb = spawnSync('ab', ['-V']).status === 0;

// Only where apache2-utils is installed (bench/scripts/ensure-web-tools.sh installs it).
(haveAb ? describe : describe.skip)('runAb against the agent server', () => {
  let dir: string;
  let server: RunningWebServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gb-ab-'));
    writeSite(dir, { largeBytes: 4096 });
    server = await startWebServer({ siteDir: dir });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the real ab and reports what it did, with fine percentiles from its CSV', async () => {
    for (const keepAlive of [true, false]) {
      const r = await runAb(parseLoadOptions({ url: `${server.url}/static/small`, concurrency: 4, requests: 200, keepAlive }));
      expect(r).toMatchObject({ completeRequests: 200, failedRequests: 0, documentLength: 1024, keepAliveRequests: keepAlive ? 200 : 0 });
      expect(r.serverSoftware).toMatch(/^guestbench\//);
      expect(r.percentiles['99']).toBeGreaterThan(0);
      expect(Number.isInteger(r.percentiles['99'])).toBe(false);
    }
  });

  it('reports requests to a closed port as failed (ab runs with -r, so it does not stop at the first)', async () => {
    const r = await runAb(parseLoadOptions({ url: 'http://127.0.0.1:1/', concurrency: 1, requests: 5, timeoutSeconds: 2 }));
    expect(r.failedRequests).toBeGreaterThan(0);
    expect(r.failures.receive + r.failures.exceptions + r.failures.connect).toBe(r.failedRequests);
    expect(r.htmlTransferred).toBe(0);
  });

  it('says how to get ab when it is missing', async () => {
    await expect(runAb(parseLoadOptions({ url: `${server.url}/static/small`, requests: 1 }), { command: 'ab-not-installed' })).rejects.toThrow(
      /ab-not-installed not found: install apache2-utils/,
    );
  });
});
