// The undici transport: one undici Client per connection, driven through dispatch() with a
// handler so that no body streams are built. A reference for the net transport's framing
// (the tests run both against the same server) and the choice for anyone who trusts
// undici's HTTP handling over the generator's own parser.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { buildConnector, Client, type Dispatcher } from 'undici';
import type { ParsedResponse } from './response-parser';
import type { Connection, ConnectionHooks, RequestTarget } from './transport';

interface Pending {
  readonly start: number;
  readonly queued: number;
  connectMs: number;
  written: number;
  firstByte: number;
  abort: ((reason: Error) => void) | undefined;
  expired: boolean;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function headerBytes(status: number, statusText: string, headers: IncomingHttpHeaders): number {
  // undici hands over parsed headers; their wire size is rebuilt from names and values.
  let n = `HTTP/1.1 ${status} ${statusText}\r\n`.length + 2;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) n += name.length + 4 + Buffer.byteLength(String(v ?? ''), 'latin1');
  }
  return n;
}

class UndiciConnection implements Connection {
  private client: Client;
  private pending = new Set<Pending>();
  /** Set by the connector, taken by the first request written on the new socket. */
  private freshConnectMs: number | undefined;
  private dead = false;
  private readonly options: Dispatcher.DispatchOptions;
  private wantServer = true;

  constructor(
    private readonly target: RequestTarget,
    private readonly hooks: ConnectionHooks,
  ) {
    this.client = this.newClient();
    this.options = {
      path: `${target.url.pathname}${target.url.search}`,
      method: target.method,
      headers: { 'user-agent': target.userAgent, accept: '*/*', ...target.headers },
      reset: !target.keepAlive,
    };
  }

  get inflight(): number {
    return this.pending.size;
  }

  send(start: number): void {
    const p: Pending = { start, queued: performance.now(), connectMs: 0, written: 0, firstByte: 0, abort: undefined, expired: false };
    this.pending.add(p);
    let status = 0;
    let statusText = '';
    let headerSize = 0;
    let payload = 0;
    let keepAlive = this.target.keepAlive;
    let server: string | undefined;
    let started = false;
    const settle = (): boolean => {
      if (this.dead || !this.pending.delete(p)) return false;
      return true;
    };
    this.client.dispatch(this.options, {
      onRequestStart: (controller) => {
        started = true;
        p.abort = (reason) => controller.abort(reason);
        p.written = performance.now();
        if (this.freshConnectMs !== undefined) {
          p.connectMs = this.freshConnectMs;
          this.freshConnectMs = undefined;
        }
      },
      onResponseStart: (_controller, statusCode, headers, statusMessage) => {
        p.firstByte = performance.now();
        status = statusCode;
        statusText = statusMessage ?? '';
        headerSize = headerBytes(statusCode, statusText, headers);
        const connection = String(headers['connection'] ?? '').toLowerCase();
        if (connection.includes('close')) keepAlive = false;
        if (this.wantServer && headers['server'] !== undefined) {
          server = String(headers['server']);
          this.wantServer = false;
        }
      },
      onResponseData: (_controller, chunk) => {
        payload += chunk.length;
      },
      onResponseEnd: () => {
        if (!settle()) return;
        const end = performance.now();
        const response: ParsedResponse = { status, headerBytes: headerSize, bodyBytes: payload, payloadBytes: payload, keepAlive, server };
        this.hooks.onResponse({ start: p.start, connectMs: p.connectMs, written: p.written, firstByte: p.firstByte || end, end }, response);
        this.hooks.onIdle();
      },
      onResponseError: (_controller, err) => {
        if (!settle()) return;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (p.expired) this.hooks.onFailure('exceptions', new Error('no response within the timeout'), 1);
        else if (!started || CONNECT_ERRORS.has(code)) this.hooks.onFailure('connect', err, 1);
        else this.hooks.onFailure('receive', err, 1);
        this.hooks.onIdle();
      },
    });
  }

  expire(before: number): void {
    for (const p of this.pending) {
      if (p.queued >= before || p.expired) continue;
      p.expired = true;
      const reason = new Error('no response within the timeout');
      if (p.abort !== undefined) p.abort(reason);
      else {
        // Still waiting for a connection: undici has not started it, so fail it here.
        this.pending.delete(p);
        this.hooks.onFailure('connect', new Error('could not connect within the timeout'), 1);
        this.restart();
        this.hooks.onIdle();
        return;
      }
    }
  }

  destroy(): void {
    this.dead = true;
    this.pending.clear();
    this.client.destroy().catch(() => undefined);
  }

  private newClient(): Client {
    const base = buildConnector({});
    return new Client(this.target.url.origin, {
      pipelining: this.target.pipelining,
      keepAliveTimeout: 60_000,
      // The engine's own timeout covers both; undici's would only race it.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (opts, callback) => {
        const t0 = performance.now();
        base(opts, (...args) => {
          if (args[0] === null) {
            this.freshConnectMs = performance.now() - t0;
            args[1].setNoDelay(true);
          }
          callback(...args);
        });
      },
    });
  }

  /** Replaces a client stuck connecting; its queued requests are failed as connect errors. */
  private restart(): void {
    const old = this.client;
    const stuck = this.pending.size;
    this.pending.clear();
    this.client = this.newClient();
    old.destroy().catch(() => undefined);
    if (stuck > 0) this.hooks.onFailure('connect', new Error('could not connect within the timeout'), stuck);
  }
}

export const undiciConnection = (target: RequestTarget, hooks: ConnectionHooks): Connection => new UndiciConnection(target, hooks);
