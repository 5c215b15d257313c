// A CGI/1.1 gateway (RFC 3875): a new process per request, the request's meta-variables
// in its environment and its body on stdin, its output parsed back into an HTTP response.
// The output is buffered whole, so that a program that fails after printing headers still
// gives a 500 rather than a truncated 200.
import { spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface CgiRequest {
  /** The program to run. */
  readonly scriptPath: string;
  /** The URL path that named the program, e.g. /cgi-bin/env. */
  readonly scriptName: string;
  /** URL path after the script name, e.g. /a/b of /cgi-bin/env/a/b; '' when none. */
  readonly pathInfo: string;
  /** The query string without '?', as sent (still URL-encoded). */
  readonly queryString: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly serverName: string;
  readonly serverPort: number;
  /** e.g. HTTP/1.1 */
  readonly serverProtocol: string;
  readonly serverSoftware: string;
  /** Folder PATH_INFO is translated against (the site root). */
  readonly documentRoot: string;
  /** The request body, sent to the program's stdin. */
  readonly body?: Readable;
}

export interface CgiLimits {
  /** Kill the program after this long. @default 30000 */
  readonly timeoutMs?: number;
  /** Refuse output beyond this. @default 64 MiB */
  readonly maxOutputBytes?: number;
}

export type CgiOutcome =
  | { readonly ok: true; readonly status: number; readonly reason: string; readonly headers: ReadonlyArray<readonly [string, string]>; readonly body: Buffer }
  | { readonly ok: false; readonly error: string };

/** Names of headers that are not passed to the program as HTTP_* (RFC 3875 §4.1.18). */
const NOT_PASSED = new Set(['content-length', 'content-type', 'authorization', 'proxy-authorization']);

/** The program's environment: RFC 3875 meta-variables, HTTP_* for the request headers, and PATH. */
export function cgiEnvironment(req: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: req.serverSoftware,
    SERVER_NAME: req.serverName,
    SERVER_PORT: String(req.serverPort),
    SERVER_PROTOCOL: req.serverProtocol,
    REQUEST_METHOD: req.method,
    SCRIPT_NAME: req.scriptName,
    QUERY_STRING: req.queryString,
    REMOTE_ADDR: req.remoteAddress,
    REMOTE_HOST: req.remoteAddress,
  };
  if (req.pathInfo !== '') {
    env['PATH_INFO'] = req.pathInfo;
    env['PATH_TRANSLATED'] = req.documentRoot + decodeURIComponentSafe(req.pathInfo);
  }
  const length = req.headers['content-length'];
  if (length !== undefined) env['CONTENT_LENGTH'] = length;
  const type = req.headers['content-type'];
  if (type !== undefined) env['CONTENT_TYPE'] = type;
  for (const [name, value] of Object.entries(req.headers)) {
    // A header with "_" would collide with the "-" spelling of another one: skip it, as nginx does.
    if (value === undefined || NOT_PASSED.has(name) || name.includes('_')) continue;
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  env['PATH'] = '/usr/local/bin:/usr/bin:/bin';
  return env;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const REASONS: Readonly<Record<number, string>> = { 200: 'OK', 302: 'Found', 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error' };

/**
 * Parses a program's output (RFC 3875 §6): header lines ending in LF or CRLF, a blank line,
 * the body. A document response needs Content-Type; an absolute Location is a client
 * redirect (302); Status sets the status. Anything else is a failure.
 */
export function parseCgiOutput(output: Buffer): CgiOutcome {
  let end = -1;
  let bodyStart = -1;
  for (let i = 0; i < output.length; i++) {
    if (output[i] !== 10) continue;
    const next = output[i + 1] === 13 ? i + 2 : i + 1;
    if (output[next] === 10) {
      end = output[i - 1] === 13 ? i - 1 : i;
      bodyStart = next + 1;
      break;
    }
  }
  if (end < 0) return { ok: false, error: output.length === 0 ? 'no output' : 'no blank line after the headers' };
  let status = 200;
  let reason = '';
  let hasType = false;
  let location: string | undefined;
  const headers: Array<readonly [string, string]> = [];
  for (const line of output.toString('latin1', 0, end).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return { ok: false, error: `malformed header line ${JSON.stringify(line.slice(0, 60))}` };
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const m = /^(\d{3})(?: (.*))?$/.exec(value);
      if (m === null || Number(m[1]) < 100 || Number(m[1]) > 599) return { ok: false, error: `bad Status header ${JSON.stringify(value)}` };
      status = Number(m[1]);
      reason = m[2] ?? '';
    } else if (lower === 'location') {
      location = value;
      headers.push([name, value]);
    } else if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') {
      // The gateway frames the body itself.
    } else {
      if (lower === 'content-type') hasType = true;
      headers.push([name, value]);
    }
  }
  if (location !== undefined && !hasType) {
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location)) return { ok: false, error: `local redirect to ${location} is not supported` };
    if (status === 200) status = 302;
  } else if (!hasType) {
    return { ok: false, error: 'no Content-Type header' };
  }
  return { ok: true, status, reason: reason || (REASONS[status] ?? ''), headers, body: output.subarray(bodyStart) };
}

/** Runs the program for one request and returns its response, or why it failed. */
export function runCgi(req: CgiRequest, limits: CgiLimits = {}): Promise<CgiOutcome> {
  const timeoutMs = limits.timeoutMs ?? 30_000;
  const maxOutput = limits.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: CgiOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const child = spawn(req.scriptPath, [], {
      env: cgiEnvironment(req),
      cwd: req.scriptPath.slice(0, req.scriptPath.lastIndexOf('/')) || '/',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `did not finish within ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutput) {
        failure = `printed more than ${maxOutput} bytes`;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    // A program may exit without reading its input: that EPIPE is not its failure.
    child.stdin.on('error', () => undefined);
    if (req.body !== undefined) req.body.pipe(child.stdin);
    else child.stdin.end();
    child.once('error', (err) => done({ ok: false, error: `could not start: ${err.message}` }));
    child.once('close', (code, signal) => {
      if (failure !== undefined) return done({ ok: false, error: failure });
      const why = stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').pop() ?? ''}`;
      if (signal !== null) return done({ ok: false, error: `killed by ${signal}${why}` });
      if (code !== 0) return done({ ok: false, error: `exited with status ${code}${why}` });
      done(parseCgiOutput(Buffer.concat(chunks, size)));
    });
  });
}
