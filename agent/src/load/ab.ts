// `--load-generator ab`: runs the real ApacheBench and reads its report into the same
// LoadReport the built-in generator gives, so both feed the same samples.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoadOptions } from './options';
import { PERCENTILES, type LoadReport, type PercentileKey, type TimeStats } from './report';
import { USER_AGENT } from './engine';

export class AbError extends Error {
  override readonly name = 'AbError';
}

export function isAbError(err: unknown): err is AbError {
  return err instanceof AbError;
}

/** ab -t sizes its per-request table by -n; this caps a timed run (32 bytes per request). */
const TIMED_REQUEST_CAP = 5_000_000;

function field(text: string, label: string): string | undefined {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

function number(text: string, label: string, required: boolean): number | undefined {
  const raw = field(text, label);
  if (raw === undefined) {
    if (required) throw new AbError(`ab output has no "${label}:" line`);
    return undefined;
  }
  const m = /^-?\d+(?:\.\d+)?/.exec(raw);
  if (m === null) throw new AbError(`ab output: "${label}: ${raw}" is not a number`);
  return Number(m[0]);
}

function timeRow(text: string, label: string): TimeStats | undefined {
  const m = new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(text);
  if (m === null) return undefined;
  const v = (m[1] as string).trim().split(/\s+/).map(Number);
  if (v.some((x) => !Number.isFinite(x))) return undefined;
  // "min mean[+/-sd] median max", or "min avg max" when ab ran with -S.
  if (v.length === 5) return { min: v[0] as number, mean: v[1] as number, sd: v[2] as number, median: v[3] as number, max: v[4] as number };
  if (v.length === 3) return { min: v[0] as number, mean: v[1] as number, sd: undefined, median: v[1] as number, max: v[2] as number };
  return undefined;
}

/** The first error ab printed (it prints "apr_…: reason (code)" and stops). */
function abError(text: string): string | undefined {
  return /(apr_[a-z_]+(?:\(\))?: [^\n]*?\(\d+\))/.exec(text)?.[1] ?? /^(Test aborted[^\n]*)$/m.exec(text)?.[1] ?? /^(ab: [^\n]*)$/m.exec(text)?.[1];
}

/**
 * Parses what ab prints (stdout, optionally with stderr mixed in). Throws AbError when ab
 * gave no report, naming the error ab printed.
 */
export function parseAbOutput(text: string): LoadReport {
  if (field(text, 'Complete requests') === undefined) {
    throw new AbError(`ab gave no report: ${abError(text) ?? text.trim().split('\n').pop() ?? 'no output'}`);
  }
  const failed = number(text, 'Failed requests', true) as number;
  const kinds = /\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)/.exec(text);
  const failures =
    kinds === null
      ? { connect: 0, receive: 0, length: 0, exceptions: 0 }
      : { connect: Number(kinds[1]), receive: Number(kinds[2]), length: Number(kinds[3]), exceptions: Number(kinds[4]) };
  const perRequest = [...text.matchAll(/^Time per request:\s+([\d.]+) \[ms\] \(mean(, across all concurrent requests)?\)/gm)];
  const connect = timeRow(text, 'Connect');
  const processing = timeRow(text, 'Processing');
  const waiting = timeRow(text, 'Waiting');
  const total = timeRow(text, 'Total');
  const percentiles: Partial<Record<PercentileKey, number>> = {};
  // ab prints whole milliseconds; `guestbench-agent load` prints fractions and 99.9%, read alike.
  for (const m of text.matchAll(/^\s*(\d{1,3}(?:\.\d)?)%\s+(\d+(?:\.\d+)?)(?: \(longest request\))?\s*$/gm)) {
    const key = m[1] as string;
    if ((PERCENTILES as readonly string[]).includes(key)) percentiles[key as PercentileKey] = Number(m[2]);
  }
  const documentLength = field(text, 'Document Length') ?? '';
  const time = number(text, 'Time taken for tests', true) as number;
  const totalTransferred = number(text, 'Total transferred', false) ?? 0;
  return {
    generator: 'ab',
    serverSoftware: field(text, 'Server Software') ?? '',
    serverHostname: field(text, 'Server Hostname') ?? '',
    serverPort: number(text, 'Server Port', false) ?? 0,
    documentPath: field(text, 'Document Path') ?? '',
    documentLength: /^\d+/.test(documentLength) ? parseInt(documentLength, 10) : 0,
    concurrencyLevel: number(text, 'Concurrency Level', true) as number,
    timeTakenSeconds: time,
    completeRequests: number(text, 'Complete requests', true) as number,
    failedRequests: failed,
    failures,
    non2xxResponses: number(text, 'Non-2xx responses', false) ?? 0,
    keepAliveRequests: number(text, 'Keep-Alive requests', false) ?? 0,
    totalTransferred,
    htmlTransferred: number(text, 'HTML transferred', false) ?? 0,
    requestsPerSecond: number(text, 'Requests per second', true) as number,
    timePerRequestMs: Number(perRequest.find((m) => m[2] === undefined)?.[1] ?? 0),
    timePerRequestAcrossMs: Number(perRequest.find((m) => m[2] !== undefined)?.[1] ?? 0),
    transferRateKBps: number(text, 'Transfer rate', false) ?? 0,
    connectionTimes: connect && processing && waiting && total ? { connect, processing, waiting, total } : undefined,
    percentiles,
  };
}

/**
 * Reads ab's -e CSV ("Percentage served,Time in ms", rows 0–100) into the percentiles it
 * has, at ab's microsecond precision instead of the report's whole milliseconds.
 */
export function parseAbCsv(csv: string): Partial<Record<PercentileKey, number>> {
  const out: Partial<Record<PercentileKey, number>> = {};
  for (const line of csv.split('\n')) {
    const m = /^(\d{1,3}),([\d.]+)$/.exec(line.trim());
    if (m !== null && (PERCENTILES as readonly string[]).includes(m[1] as string)) out[m[1] as PercentileKey] = Number(m[2]);
  }
  return out;
}

/** ab's command line for `options`, or an AbError for what ab cannot do. */
export function abArguments(options: LoadOptions, csvFile: string | undefined): string[] {
  if (options.pipelining > 1) throw new AbError('ab cannot pipeline requests; use the builtin load generator for pipelining');
  if (options.rate !== undefined) throw new AbError('ab has no constant-rate mode; use the builtin load generator for --rate');
  if (options.threads > 1) throw new AbError('ab runs in one thread; use the builtin load generator for threads');
  const args = ['-c', String(options.concurrency)];
  // -t first: ab resets -n when it reads -t, and a later -n bounds its table.
  if (options.durationSeconds !== undefined)
    args.push('-t', String(Math.max(1, Math.ceil(options.durationSeconds))), '-n', String(options.requests ?? TIMED_REQUEST_CAP));
  else args.push('-n', String(options.requests));
  if (options.keepAlive) args.push('-k');
  if (options.method === 'HEAD') args.push('-i');
  args.push('-s', String(Math.max(1, Math.ceil(options.timeoutSeconds))), '-r', '-H', `User-Agent: ${USER_AGENT} (ab)`);
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  if (csvFile !== undefined) args.push('-e', csvFile);
  const url = options.url;
  args.push(`${url.origin}${url.pathname}${url.search}`);
  return args;
}

export interface RunAbExtras {
  readonly signal?: AbortSignal;
  /** @default 'ab' from PATH */
  readonly command?: string;
}

/** Runs ab with `options` and returns its report; an AbError when ab is missing or fails. */
export function runAb(options: LoadOptions, extras: RunAbExtras = {}): Promise<LoadReport> {
  abArguments(options, undefined); // refuses what ab cannot do before anything is created
  const dir = mkdtempSync(path.join(tmpdir(), 'guestbench-ab-'));
  const csv = path.join(dir, 'percentiles.csv');
  const args = abArguments(options, csv);
  const command = extras.command ?? 'ab';
  return new Promise<LoadReport>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: extras.signal });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // ab bounds itself by -t and -s; this only guards against an ab that never returns.
    const limit = ((options.durationSeconds ?? 0) + options.timeoutSeconds * 2 + 30) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT')
        reject(new AbError(`${command} not found: install apache2-utils (bench/scripts/ensure-web-tools.sh does) or use the builtin load generator`));
      else reject(new AbError(`could not run ${command}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      try {
        if (code !== 0) {
          throw new AbError(
            `${command} ${signal !== null ? `was killed by ${signal}` : `exited with ${code}`}: ${abError(`${out}\n${err}`) ?? (err.trim() || out.trim()).split('\n').pop() ?? ''}`,
          );
        }
        const report = parseAbOutput(out);
        let fine: Partial<Record<PercentileKey, number>> = {};
        try {
          fine = parseAbCsv(readFileSync(csv, 'utf8'));
        } catch {
          // No CSV (nothing answered): keep ab's whole-millisecond percentiles.
        }
        resolve({ ...report, percentiles: { ...report.percentiles, ...fine } });
      } catch (e: unknown) {
        reject(e);
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
