// The load generator's options, parsed once from untrusted input (flags, profile settings)
// into a checked value; bad options are refused with one line naming the option.

/**
 * handle: libuv TCP handles driven directly (the default; node:net where this Node lacks
 * them); net: node:net sockets; undici: undici Clients.
 */
export type Transport = 'handle' | 'net' | 'undici';
export const TRANSPORTS: readonly Transport[] = ['handle', 'net', 'undici'];

export interface LoadOptions {
  /** The page; http:// only. */
  readonly url: URL;
  /** @default 'GET' */
  readonly method: 'GET' | 'HEAD';
  /** Connections, each with its own closed loop (ab -c). */
  readonly concurrency: number;
  /** Stop once this many requests were attempted, answered or failed (ab -n). */
  readonly requests: number | undefined;
  /** Stop sending after this many seconds (ab -t); the requests then in flight are still awaited. */
  readonly durationSeconds: number | undefined;
  /** Reuse connections (ab -k). @default false, as in ab */
  readonly keepAlive: boolean;
  /** Requests in flight per connection; 1 is no pipelining. @default 1 */
  readonly pipelining: number;
  /** Constant-rate mode (wrk2 -R): requests per second over all connections, latency measured from when each was due. */
  readonly rate: number | undefined;
  /** Worker threads sharing the connections. @default 1 */
  readonly threads: number;
  /** A request unanswered this long fails (ab -s). @default 30 */
  readonly timeoutSeconds: number;
  /** @default 'handle' */
  readonly transport: Transport;
  readonly headers: Readonly<Record<string, string>>;
}

/** Untrusted input to parseLoadOptions: anything may be missing or wrong. */
export interface LoadInput {
  readonly url: unknown;
  readonly method?: unknown;
  readonly concurrency?: unknown;
  readonly requests?: unknown;
  readonly durationSeconds?: unknown;
  readonly keepAlive?: unknown;
  readonly pipelining?: unknown;
  readonly rate?: unknown;
  readonly threads?: unknown;
  readonly timeoutSeconds?: unknown;
  readonly transport?: unknown;
  readonly headers?: unknown;
}

export class LoadOptionsError extends Error {
  override readonly name = 'LoadOptionsError';
}

export function isLoadOptionsError(err: unknown): err is LoadOptionsError {
  return err instanceof LoadOptionsError;
}

function wholeNumber(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new LoadOptionsError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positive(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new LoadOptionsError(`${name} must be a number above 0 and at most ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Parses an http:// URL with a clear message for anything else. */
export function parseHttpUrl(raw: unknown, what = 'url'): URL {
  if (raw instanceof URL) raw = raw.href;
  if (typeof raw !== 'string' || raw === '') throw new LoadOptionsError(`${what}: expected an http:// URL, got ${JSON.stringify(raw)}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoadOptionsError(`${what}: malformed URL ${JSON.stringify(raw)}; expected e.g. http://127.0.0.1:8080/static/small`);
  }
  if (url.protocol !== 'http:') throw new LoadOptionsError(`${what}: only http:// URLs are supported, got ${JSON.stringify(raw)}`);
  if (url.username !== '' || url.password !== '') throw new LoadOptionsError(`${what}: credentials in the URL are not supported`);
  if (url.hash !== '') throw new LoadOptionsError(`${what}: a #fragment is never sent; remove it from ${JSON.stringify(raw)}`);
  return url;
}

export function parseLoadOptions(input: LoadInput): LoadOptions {
  const url = parseHttpUrl(input.url);
  const method = input.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw new LoadOptionsError(`method must be GET or HEAD, got ${JSON.stringify(method)}`);
  const concurrency = wholeNumber('concurrency', input.concurrency ?? 1, 1, 20000);
  const requests = input.requests === undefined ? undefined : wholeNumber('requests', input.requests, 1, 1e12);
  const durationSeconds = input.durationSeconds === undefined ? undefined : positive('duration', input.durationSeconds, 7 * 86400);
  if (requests === undefined && durationSeconds === undefined) throw new LoadOptionsError('give a number of requests, a duration, or both');
  if (requests !== undefined && requests < concurrency) {
    throw new LoadOptionsError(`concurrency (${concurrency}) cannot be above the number of requests (${requests})`);
  }
  const keepAlive = input.keepAlive ?? false;
  if (typeof keepAlive !== 'boolean') throw new LoadOptionsError(`keepAlive must be true or false, got ${JSON.stringify(keepAlive)}`);
  const pipelining = wholeNumber('pipelining', input.pipelining ?? 1, 1, 1024);
  if (pipelining > 1 && !keepAlive) throw new LoadOptionsError('pipelining needs keep-alive: a connection closed after each response has nothing to pipeline');
  const rate = input.rate === undefined ? undefined : positive('rate', input.rate, 1e8);
  if (rate !== undefined && pipelining > 1) throw new LoadOptionsError('constant-rate mode sends one request at a time per connection; use pipelining 1');
  const threads = wholeNumber('threads', input.threads ?? 1, 1, 256);
  if (threads > concurrency) throw new LoadOptionsError(`threads (${threads}) cannot be more than connections (${concurrency})`);
  const timeoutSeconds = positive('timeout', input.timeoutSeconds ?? 30, 86400);
  const transport = input.transport ?? 'handle';
  if (!(TRANSPORTS as readonly unknown[]).includes(transport)) {
    throw new LoadOptionsError(`transport must be ${TRANSPORTS.join(', ')}, got ${JSON.stringify(transport)}`);
  }
  const headers = input.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new LoadOptionsError('headers must be an object of name: value');
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw new LoadOptionsError(`header ${JSON.stringify(name)}: a token name and a one-line string value are needed`);
    }
  }
  return {
    url,
    method,
    concurrency,
    requests,
    durationSeconds,
    keepAlive,
    pipelining,
    rate,
    threads,
    timeoutSeconds,
    transport: transport as Transport,
    headers: headers as Record<string, string>,
  };
}
