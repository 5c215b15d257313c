// web.*: ab-style load on one page of a web server in the guest — the agent's own server
// (started as a separate process) or one named with --web-target — by the built-in load
// generator or the real ab. Any failed or non-2xx request fails the trial: a server that
// drops requests has no comparable throughput.
import { request } from 'undici';
import { parseLoadOptions, type LoadOptions } from '../../load/options';
import { runAb } from '../../load/ab';
import type { LoadReport } from '../../load/report';
import { runLoad } from '../../load/run-load';
import { effectiveTransport } from '../../load/engine';
import { pageUrl, targetUrl, type PageName } from '../../web/pages';
import { startServerProcess, type ServerProcess } from '../../web/server-process';
import { DEFAULT_LARGE_BYTES, DEFAULT_SMALL_BYTES } from '../../web/site';
import { parseNumberSettings, type NumberSetting } from '../settings';
import { latencyPercentiles, type BenchmarkDefinition, type MetricSpec, type PreparedBenchmark, type TrialValues } from '../types';
import { EVERY_PROFILE, type ProfileName } from '../../profiles/profile-names';

/** A web benchmark that cannot run or whose trial failed; the message starts with its id. */
export class WebBenchmarkError extends Error {
  override readonly name = 'WebBenchmarkError';
  constructor(
    readonly benchmarkId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${benchmarkId}: ${message}`, options);
  }
}

export function isWebBenchmarkError(err: unknown): err is WebBenchmarkError {
  return err instanceof WebBenchmarkError;
}

export interface WebSettings {
  /** Connections (ab -c). @default 16 */
  readonly concurrency: number;
  /** 1 reuses connections (ab -k); 0 opens one per request, as ab does by default. @default 0 */
  readonly keepAlive: number;
  /** Requests in flight per connection (builtin generator only). @default 1 */
  readonly pipelining: number;
  /** Load generator threads (builtin generator only). @default 1 */
  readonly threads: number;
  /** A trial lasts the profile's trialSeconds, but at least this long. @default 0.5 */
  readonly minSeconds: number;
  /** A request unanswered this long fails. @default 10 */
  readonly timeoutSeconds: number;
  /** Size of /static/large on the agent's own server. @default 4096 */
  readonly largeKiB: number;
  /** Maze of cgi_large: size × size cells. @default 64 */
  readonly mazeSize: number;
  /** @default 1 */
  readonly mazeSeed: number;
}

const COMMON: Record<string, NumberSetting> = {
  concurrency: { default: 16, min: 1, max: 10000, integer: true },
  keepAlive: { default: 0, min: 0, max: 1, integer: true },
  pipelining: { default: 1, min: 1, max: 256, integer: true },
  threads: { default: 1, min: 1, max: 64, integer: true },
  minSeconds: { default: 0.5, min: 0.01, max: 3600 },
  timeoutSeconds: { default: 10, min: 0.1, max: 3600 },
};
const LARGE: { largeKiB: NumberSetting } = { largeKiB: { default: DEFAULT_LARGE_BYTES / 1024, min: 1, max: 1024 * 1024, integer: true } };
const MAZE: { mazeSize: NumberSetting; mazeSeed: NumberSetting } = {
  mazeSize: { default: 64, min: 2, max: 400, integer: true },
  mazeSeed: { default: 1, min: 0, max: 999999999, integer: true },
};

const RPS: MetricSpec = { name: 'rps', unit: 'req/s', direction: 'higher', primary: true };
const MBPS: MetricSpec = { name: 'throughput', unit: 'MB/s', direction: 'higher', primary: false };

/** Why a trial's requests failed, in one line; undefined when none did. */
export function failureSummary(r: LoadReport): string | undefined {
  if (r.failedRequests === 0 && r.non2xxResponses === 0) return undefined;
  const attempted = r.completeRequests + r.failures.connect + r.failures.receive + r.failures.exceptions;
  const f = r.failures;
  const statuses = Object.entries(r.statuses ?? {})
    .filter(([s]) => !s.startsWith('2'))
    .map(([s, n]) => `${n}× ${s}`);
  const first = Object.keys(r.errors ?? {})[0];
  // A request can be both (a 500 of another length), so the two counts are not added.
  return (
    `of ${attempted} requests, ${r.failedRequests} failed (connect ${f.connect}, receive ${f.receive}, length ${f.length}, exceptions ${f.exceptions})` +
    ` and ${r.non2xxResponses} were answered non-2xx${statuses.length > 0 ? ` (${statuses.join(', ')})` : ''}` +
    `${first === undefined ? '' : `; first error: ${first}`}`
  );
}

/** Values of one trial from its load report. */
export function trialValues(r: LoadReport, withThroughput: boolean): TrialValues {
  const p50 = r.percentiles['50'];
  const p99 = r.percentiles['99'];
  return {
    rps: r.requestsPerSecond,
    p50: p50 ?? 0,
    p99: p99 ?? 0,
    ...(withThroughput ? { throughput: r.totalTransferred / r.timeTakenSeconds / 1e6 } : {}),
  };
}

async function probe(id: string, url: URL, expectLength: number | undefined, signal: AbortSignal): Promise<void> {
  let status: number;
  let length: number;
  try {
    const res = await request(url, { method: 'GET', signal, headersTimeout: 30_000, bodyTimeout: 30_000 });
    status = res.statusCode;
    const body = Buffer.from(await res.body.arrayBuffer());
    length = body.length;
    if (status !== 200) throw new WebBenchmarkError(id, `GET ${url.href} answered ${status}: ${body.toString('utf8', 0, 200).trim()}`);
  } catch (err: unknown) {
    if (err instanceof WebBenchmarkError) throw err;
    throw new WebBenchmarkError(id, `GET ${url.href} failed: ${(err as Error).message}`, { cause: err });
  }
  if (expectLength !== undefined && length !== expectLength) {
    throw new WebBenchmarkError(id, `GET ${url.href} gave ${length} bytes, expected ${expectLength}`);
  }
}

interface PageSpec {
  readonly id: string;
  readonly page: PageName;
  readonly description: string;
  readonly profiles: readonly ProfileName[];
  readonly large: boolean;
}

function webBenchmark(spec: PageSpec): BenchmarkDefinition<WebSettings> {
  const settingsSpec: Record<string, NumberSetting> = {
    ...COMMON,
    ...(spec.page === 'static_large' ? LARGE : {}),
    ...(spec.page === 'cgi_large' ? MAZE : {}),
  };
  return {
    id: spec.id,
    description: spec.description,
    profiles: spec.profiles,
    metrics: spec.large ? [RPS, MBPS, ...latencyPercentiles('ms')] : [RPS, ...latencyPercentiles('ms')],
    parseSettings(raw) {
      const s: Record<string, number> = parseNumberSettings(spec.id, raw, settingsSpec);
      return {
        concurrency: s['concurrency'] as number,
        keepAlive: s['keepAlive'] as number,
        pipelining: s['pipelining'] as number,
        threads: s['threads'] as number,
        minSeconds: s['minSeconds'] as number,
        timeoutSeconds: s['timeoutSeconds'] as number,
        largeKiB: s['largeKiB'] ?? LARGE.largeKiB.default,
        mazeSize: s['mazeSize'] ?? MAZE.mazeSize.default,
        mazeSeed: s['mazeSeed'] ?? MAZE.mazeSeed.default,
      };
    },
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const maze = { size: settings.mazeSize, seed: settings.mazeSeed };
      const generator = context.targets?.loadGenerator ?? 'builtin';
      const external = targetUrl(context.targets?.webTargets, spec.page, maze);
      let server: ServerProcess | undefined;
      let url: URL;
      if (external !== undefined) url = external;
      else {
        server = await startServerProcess({ largeBytes: settings.largeKiB * 1024 });
        url = pageUrl(server.url, spec.page, maze);
      }
      try {
        const seconds = Math.max(context.profile.trialSeconds, settings.minSeconds);
        let options: LoadOptions;
        try {
          options = parseLoadOptions({
            url,
            concurrency: settings.concurrency,
            durationSeconds: seconds,
            keepAlive: settings.keepAlive === 1,
            pipelining: settings.pipelining,
            threads: settings.threads,
            timeoutSeconds: settings.timeoutSeconds,
          });
        } catch (err: unknown) {
          throw new WebBenchmarkError(spec.id, (err as Error).message, { cause: err });
        }
        const expected =
          server === undefined
            ? undefined
            : spec.page === 'static_small'
              ? DEFAULT_SMALL_BYTES
              : spec.page === 'static_large'
                ? settings.largeKiB * 1024
                : undefined;
        await probe(spec.id, url, expected, context.signal);
        const parameters: Record<string, string> = {
          page: url.pathname + url.search,
          server: server === undefined ? 'external' : 'builtin',
          generator,
          // What sends the requests changes what a request costs the client (and so the rate
          // on a small machine): a guest is compared only with a native run that loaded alike.
          transport: generator === 'ab' ? 'ab' : effectiveTransport(options),
          concurrency: String(settings.concurrency),
          keepAlive: settings.keepAlive === 1 ? 'on' : 'off',
          pipelining: String(settings.pipelining),
        };
        if (generator === 'builtin' && settings.threads > 1) parameters['threads'] = String(settings.threads);
        if (spec.page === 'static_large' && server !== undefined) parameters['bytes'] = String(settings.largeKiB * 1024);
        const running = server;
        return {
          parameters,
          async trial() {
            let report: LoadReport;
            try {
              report = generator === 'ab' ? await runAb(options, { signal: context.signal }) : await runLoad(options, { signal: context.signal });
            } catch (err: unknown) {
              throw new WebBenchmarkError(spec.id, (err as Error).message, { cause: err });
            }
            const failed = failureSummary(report);
            if (failed !== undefined) throw new WebBenchmarkError(spec.id, `${url.href}: ${failed}`);
            if (report.completeRequests === 0) throw new WebBenchmarkError(spec.id, `${url.href}: no request was answered within ${seconds} s`);
            return trialValues(report, spec.large);
          },
          async dispose() {
            await running?.stop();
          },
        };
      } catch (err: unknown) {
        await server?.stop();
        throw err;
      }
    },
  };
}

export const webStaticSmall = webBenchmark({
  id: 'web.static_small',
  page: 'static_small',
  description: 'ab-style load on a ~1 KiB static page (/static/small)',
  profiles: EVERY_PROFILE,
  large: false,
});

export const webStaticLarge = webBenchmark({
  id: 'web.static_large',
  page: 'static_large',
  description: 'ab-style load on a large static file (/static/large, 4 MiB by default)',
  profiles: EVERY_PROFILE,
  large: true,
});

export const webCgiSmall = webBenchmark({
  id: 'web.cgi_small',
  page: 'cgi_small',
  description: 'real CGI, a process per request, printing its environment (/cgi-bin/env)',
  profiles: EVERY_PROFILE,
  large: false,
});

export const webCgiLarge = webBenchmark({
  id: 'web.cgi_large',
  page: 'cgi_large',
  description: 'real CGI generating an HTML maze page (/cgi-bin/maze?size=N&seed=S)',
  profiles: EVERY_PROFILE,
  large: true,
});
