// `guestbench-agent load URL`: the load generator on its own, with ab's flags and ab's
// report (as text, or as JSON under ab's field names), or the real ab behind the same flags.
import { parseArgs } from 'node:util';
import { argumentErrorMessage } from '@guestbench/proto';
import { isAbError, runAb } from './ab';
import { isLoadOptionsError, parseLoadOptions, type LoadOptions } from './options';
import { PERCENTILES, toAbJson, type LoadReport, type TimeStats } from './report';
import { runLoad } from './run-load';

export const LOAD_USAGE = `guestbench-agent load — ab-style load on one URL, with ab's report

Usage:
  guestbench-agent load URL [-c N] [-n N] [-t SECONDS] [-k] [-s SECONDS] [--pipelining P]
                            [--rate R] [--threads T] [--transport handle|net|undici] [--generator builtin|ab] [--json]

Options:
  -c N                connections, each a closed loop (default 1)
  -n N                stop after N requests, answered or failed
  -t SECONDS          stop sending after SECONDS and wait for what is in flight (default 10 without -n)
  -k                  keep connections alive
  -s SECONDS          a request unanswered this long fails (default 30)
  --pipelining P      requests in flight per keep-alive connection (default 1)
  --rate R            constant rate (wrk2 -R): R requests per second over all connections, latency
                      measured from when each was due
  --threads T         worker threads sharing the connections (default 1)
  --transport T       handle (default: libuv TCP handles, cheapest per request), net (node:net) or undici
  --generator G       builtin (default) or ab: run the real ApacheBench with the same flags
  --json              the report as JSON under ab's field names
`;

export type LoadCommand =
  { readonly kind: 'load-help' } | { readonly kind: 'load'; readonly options: LoadOptions; readonly generator: 'builtin' | 'ab'; readonly json: boolean };

export class LoadUsageError extends Error {
  override readonly name = 'LoadUsageError';
}

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new LoadUsageError(`load: ${flag} needs a number, got "${raw}"`);
  return v;
}

export function parseLoadArguments(argv: readonly string[]): LoadCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        c: { type: 'string', short: 'c' },
        n: { type: 'string', short: 'n' },
        t: { type: 'string', short: 't' },
        k: { type: 'boolean', short: 'k' },
        s: { type: 'string', short: 's' },
        pipelining: { type: 'string' },
        rate: { type: 'string' },
        threads: { type: 'string' },
        transport: { type: 'string' },
        generator: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err: unknown) {
    throw new LoadUsageError(
      argumentErrorMessage(err, 'load', ['c', 'n', 't', 'k', 's', 'pipelining', 'rate', 'threads', 'transport', 'generator', 'json', 'help']),
    );
  }
  const v = parsed.values;
  if (v.help === true) return { kind: 'load-help' };
  if (parsed.positionals.length !== 1) throw new LoadUsageError(`load: give exactly one URL, got ${parsed.positionals.length}`);
  const generator = v.generator ?? 'builtin';
  if (generator !== 'builtin' && generator !== 'ab') throw new LoadUsageError(`load: --generator is builtin or ab, got "${generator}"`);
  const requests = number('-n', v.n);
  const duration = number('-t', v.t) ?? (requests === undefined ? 10 : undefined);
  try {
    const options = parseLoadOptions({
      url: parsed.positionals[0],
      concurrency: number('-c', v.c),
      requests,
      durationSeconds: duration,
      keepAlive: v.k === true,
      timeoutSeconds: number('-s', v.s),
      pipelining: number('--pipelining', v.pipelining),
      rate: number('--rate', v.rate),
      threads: number('--threads', v.threads),
      transport: v.transport,
    });
    return { kind: 'load', options, generator, json: v.json === true };
  } catch (err: unknown) {
    if (isLoadOptionsError(err)) throw new LoadUsageError(`load: ${err.message}`);
    throw err;
  }
}

const pad = (label: string): string => `${label}:`.padEnd(24);
const ms = (v: number): string => (v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1));

function timeRow(label: string, s: TimeStats): string {
  const cells = [ms(s.min), ms(s.mean), s.sd === undefined ? '' : ms(s.sd), ms(s.median), ms(s.max)];
  return `${`${label}:`.padEnd(12)}${cells.map((c) => c.padStart(9)).join('')}`;
}

/** The report laid out as ab prints it, with milliseconds to the microsecond. */
export function formatAbReport(r: LoadReport): string {
  const f = r.failures;
  const lines = [
    `${pad('Server Software')}${r.serverSoftware}`,
    `${pad('Server Hostname')}${r.serverHostname}`,
    `${pad('Server Port')}${r.serverPort}`,
    '',
    `${pad('Document Path')}${r.documentPath}`,
    `${pad('Document Length')}${r.documentLength} bytes`,
    '',
    `${pad('Concurrency Level')}${r.concurrencyLevel}`,
    `${pad('Time taken for tests')}${r.timeTakenSeconds.toFixed(3)} seconds`,
    `${pad('Complete requests')}${r.completeRequests}`,
    `${pad('Failed requests')}${r.failedRequests}`,
    ...(r.failedRequests > 0 ? [`   (Connect: ${f.connect}, Receive: ${f.receive}, Length: ${f.length}, Exceptions: ${f.exceptions})`] : []),
    ...(r.non2xxResponses > 0 ? [`${pad('Non-2xx responses')}${r.non2xxResponses}`] : []),
    ...(r.keepAliveRequests > 0 ? [`${pad('Keep-Alive requests')}${r.keepAliveRequests}`] : []),
    `${pad('Total transferred')}${r.totalTransferred} bytes`,
    `${pad('HTML transferred')}${r.htmlTransferred} bytes`,
    `${pad('Requests per second')}${r.requestsPerSecond.toFixed(2)} [#/sec] (mean)`,
    `${pad('Time per request')}${r.timePerRequestMs.toFixed(3)} [ms] (mean)`,
    `${pad('Time per request')}${r.timePerRequestAcrossMs.toFixed(3)} [ms] (mean, across all concurrent requests)`,
    `${pad('Transfer rate')}${r.transferRateKBps.toFixed(2)} [Kbytes/sec] received`,
  ];
  const c = r.connectionTimes;
  if (c !== undefined) {
    lines.push('', 'Connection Times (ms)', `${''.padEnd(12)}${['min', 'mean', '[+/-sd]', 'median', 'max'].map((h) => h.padStart(9)).join('')}`);
    lines.push(timeRow('Connect', c.connect), timeRow('Processing', c.processing), timeRow('Waiting', c.waiting), timeRow('Total', c.total));
  }
  if (Object.keys(r.percentiles).length > 0) {
    lines.push('', 'Percentage of the requests served within a certain time (ms)');
    for (const p of PERCENTILES) {
      const v = r.percentiles[p];
      if (v !== undefined) lines.push(`${`${p}%`.padStart(6)}  ${ms(v).padStart(9)}${p === '100' ? ' (longest request)' : ''}`);
    }
  }
  if (r.uncorrectedPercentiles !== undefined) {
    lines.push('', 'Uncorrected for coordinated omission, from the actual send (ms)');
    for (const p of PERCENTILES) {
      const v = r.uncorrectedPercentiles[p];
      if (v !== undefined) lines.push(`${`${p}%`.padStart(6)}  ${ms(v).padStart(9)}`);
    }
  }
  const errors = Object.entries(r.errors ?? {});
  if (errors.length > 0) lines.push('', 'Errors', ...errors.map(([message, n]) => `  ${String(n).padStart(8)}  ${message}`));
  return `${lines.join('\n')}\n`;
}

/** Runs the command; exit code 0 when every request was answered 2xx, else 1. */
export async function load(
  cmd: LoadCommand,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  signal?: AbortSignal,
): Promise<number> {
  if (cmd.kind === 'load-help') {
    out.write(LOAD_USAGE);
    return 0;
  }
  let report: LoadReport;
  try {
    report = cmd.generator === 'ab' ? await runAb(cmd.options, { signal }) : await runLoad(cmd.options, { signal });
  } catch (e: unknown) {
    if (!isAbError(e)) throw e;
    err.write(`guestbench-agent load: ${e.message}\n`);
    return 1;
  }
  out.write(cmd.json ? `${JSON.stringify(toAbJson(report), null, 2)}\n` : formatAbReport(report));
  return report.failedRequests === 0 && report.non2xxResponses === 0 && report.completeRequests > 0 ? 0 : 1;
}
