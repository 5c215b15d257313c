// The summary of a load run in ab's terms, whichever generator produced it, and its JSON
// form under ab's own field names.
import { Histogram } from './histogram';
import type { TallyState } from './tally';
import type { FailureKind } from './transport';

/** The percentiles ab prints, plus 99.9 which ab cannot give. */
export const PERCENTILES = ['50', '66', '75', '80', '90', '95', '98', '99', '99.9', '100'] as const;
export type PercentileKey = (typeof PERCENTILES)[number];

/** One row of ab's "Connection Times (ms)" table. */
export interface TimeStats {
  readonly min: number;
  readonly mean: number;
  /** ab's [+/-sd]; absent when ab ran with -S. */
  readonly sd: number | undefined;
  readonly median: number;
  readonly max: number;
}

export interface LoadReport {
  readonly generator: 'builtin' | 'ab';
  /** ab: Server Software. */
  readonly serverSoftware: string;
  /** ab: Server Hostname. */
  readonly serverHostname: string;
  /** ab: Server Port. */
  readonly serverPort: number;
  /** ab: Document Path. */
  readonly documentPath: string;
  /** ab: Document Length, in bytes (of the first response). */
  readonly documentLength: number;
  /** ab: Concurrency Level. */
  readonly concurrencyLevel: number;
  /** ab: Time taken for tests, in seconds. */
  readonly timeTakenSeconds: number;
  /** ab: Complete requests (answered, whatever the status or length). */
  readonly completeRequests: number;
  /** ab: Failed requests (connect + receive + length + exceptions). */
  readonly failedRequests: number;
  readonly failures: Readonly<Record<FailureKind, number>>;
  /** ab: Non-2xx responses. */
  readonly non2xxResponses: number;
  /** ab: Keep-Alive requests. */
  readonly keepAliveRequests: number;
  /** ab: Total transferred, in bytes (headers and bodies). */
  readonly totalTransferred: number;
  /** ab: HTML transferred, in bytes (bodies). */
  readonly htmlTransferred: number;
  /** ab: Requests per second (mean). */
  readonly requestsPerSecond: number;
  /** ab: Time per request (mean), in ms: concurrency × time / requests. */
  readonly timePerRequestMs: number;
  /** ab: Time per request (mean, across all concurrent requests), in ms. */
  readonly timePerRequestAcrossMs: number;
  /** ab: Transfer rate, in KiB/s received. */
  readonly transferRateKBps: number;
  /** ab: Connection Times (ms); absent when nothing was answered. */
  readonly connectionTimes: Readonly<Record<'connect' | 'processing' | 'waiting' | 'total', TimeStats>> | undefined;
  /** ab: Percentage of the requests served within a certain time (ms); keys are percents. */
  readonly percentiles: Readonly<Partial<Record<PercentileKey, number>>>;
  /**
   * Percentiles of ab's "Processing" time (total minus connect): from the request's send to
   * its last byte, which is what wrk calls latency. Builtin only.
   */
  readonly processingPercentiles?: Readonly<Partial<Record<PercentileKey, number>>>;
  /** Constant-rate runs: percentiles measured from the actual send, uncorrected for coordinated omission. */
  readonly uncorrectedPercentiles?: Readonly<Partial<Record<PercentileKey, number>>>;
  /** Answers by status code. */
  readonly statuses?: Readonly<Record<string, number>>;
  /** Why requests failed, message → count. */
  readonly errors?: Readonly<Record<string, number>>;
}

function stats(h: Histogram): TimeStats {
  const ms = (us: number): number => us / 1000;
  return { min: ms(h.min), mean: ms(h.mean), sd: ms(h.stddev), median: ms(h.percentile(50)), max: ms(h.max) };
}

function percentiles(h: Histogram): Partial<Record<PercentileKey, number>> {
  const out: Partial<Record<PercentileKey, number>> = {};
  for (const p of PERCENTILES) out[p] = h.percentile(Number(p)) / 1000;
  return out;
}

/** Builds the report of a builtin run from its (merged) tally. */
export function reportFromTally(url: URL, concurrency: number, elapsedSeconds: number, t: TallyState): LoadReport {
  const total = Histogram.from(t.total);
  const done = t.complete;
  const failed = t.failures.connect + t.failures.receive + t.failures.length + t.failures.exceptions;
  return {
    generator: 'builtin',
    serverSoftware: t.serverSoftware ?? '',
    serverHostname: url.hostname,
    serverPort: Number(url.port || 80),
    documentPath: `${url.pathname}${url.search}`,
    documentLength: t.documentLength ?? 0,
    concurrencyLevel: concurrency,
    timeTakenSeconds: elapsedSeconds,
    completeRequests: done,
    failedRequests: failed,
    failures: { ...t.failures },
    non2xxResponses: t.non2xx,
    keepAliveRequests: t.keepAliveRequests,
    totalTransferred: t.totalBytes,
    htmlTransferred: t.htmlBytes,
    requestsPerSecond: done / elapsedSeconds,
    timePerRequestMs: done === 0 ? 0 : (concurrency * elapsedSeconds * 1000) / done,
    timePerRequestAcrossMs: done === 0 ? 0 : (elapsedSeconds * 1000) / done,
    transferRateKBps: t.totalBytes / 1024 / elapsedSeconds,
    connectionTimes:
      done === 0
        ? undefined
        : {
            connect: stats(Histogram.from(t.connect)),
            processing: stats(Histogram.from(t.processing)),
            waiting: stats(Histogram.from(t.waiting)),
            total: stats(total),
          },
    percentiles: done === 0 ? {} : percentiles(total),
    ...(done === 0 ? {} : { processingPercentiles: percentiles(Histogram.from(t.processing)) }),
    ...(t.uncorrected === undefined || done === 0 ? {} : { uncorrectedPercentiles: percentiles(Histogram.from(t.uncorrected)) }),
    statuses: { ...t.statuses },
    errors: { ...t.errors },
  };
}

const round = (v: number, digits = 3): number => Number(v.toFixed(digits));

function timeRow(s: TimeStats): Record<string, number> {
  return { min: round(s.min), mean: round(s.mean), ...(s.sd === undefined ? {} : { '+/-sd': round(s.sd) }), median: round(s.median), max: round(s.max) };
}

/**
 * The report as JSON under ab's field names, in ab's units: seconds for "Time taken for tests",
 * bytes, [#/sec], [ms] (means) and [Kbytes/sec]. Fields ab lacks (p99.9, the uncorrected
 * percentiles, statuses, errors) have names of the same style.
 */
export function toAbJson(r: LoadReport): Record<string, unknown> {
  const pct = (p: Partial<Record<PercentileKey, number>>): Record<string, number> =>
    Object.fromEntries(PERCENTILES.flatMap((k) => (p[k] === undefined ? [] : [[`${k}%`, round(p[k] as number)]])));
  const out: Record<string, unknown> = {
    Generator: r.generator,
    'Server Software': r.serverSoftware,
    'Server Hostname': r.serverHostname,
    'Server Port': r.serverPort,
    'Document Path': r.documentPath,
    'Document Length': r.documentLength,
    'Concurrency Level': r.concurrencyLevel,
    'Time taken for tests': round(r.timeTakenSeconds, 6),
    'Complete requests': r.completeRequests,
    'Failed requests': r.failedRequests,
    'Failed requests by kind': { Connect: r.failures.connect, Receive: r.failures.receive, Length: r.failures.length, Exceptions: r.failures.exceptions },
    'Non-2xx responses': r.non2xxResponses,
    'Keep-Alive requests': r.keepAliveRequests,
    'Total transferred': r.totalTransferred,
    'HTML transferred': r.htmlTransferred,
    'Requests per second': round(r.requestsPerSecond, 2),
    'Time per request': round(r.timePerRequestMs),
    'Time per request (across all concurrent requests)': round(r.timePerRequestAcrossMs),
    'Transfer rate': round(r.transferRateKBps, 2),
  };
  if (r.connectionTimes !== undefined) {
    const c = r.connectionTimes;
    out['Connection Times (ms)'] = { Connect: timeRow(c.connect), Processing: timeRow(c.processing), Waiting: timeRow(c.waiting), Total: timeRow(c.total) };
  }
  out['Percentage of the requests served within a certain time (ms)'] = pct(r.percentiles);
  if (r.processingPercentiles !== undefined) out['Processing percentiles (ms)'] = pct(r.processingPercentiles);
  if (r.uncorrectedPercentiles !== undefined) out['Uncorrected percentiles (ms)'] = pct(r.uncorrectedPercentiles);
  if (r.statuses !== undefined) out['Responses by status'] = r.statuses;
  if (r.errors !== undefined && Object.keys(r.errors).length > 0) out['Errors'] = r.errors;
  return out;
}
