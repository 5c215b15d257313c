// What the load engine asks of one client connection, whichever HTTP client implements it.
import type { ParsedResponse } from './response-parser';

/** ab's kinds of failed request. */
export type FailureKind = 'connect' | 'receive' | 'length' | 'exceptions';

/** When one request's phases happened, in performance.now() milliseconds. */
export interface RequestTiming {
  /** When the engine issued it (for constant rate: when it was due). */
  readonly start: number;
  /** Milliseconds spent opening the connection for it; 0 on a reused connection. */
  readonly connectMs: number;
  /** When its bytes were handed to the socket. */
  readonly written: number;
  /** When the first byte of its response arrived. */
  readonly firstByte: number;
  /** When its response was complete. */
  readonly end: number;
}

/** The fixed parts of every request: where to, and its bytes. */
export interface RequestTarget {
  readonly url: URL;
  readonly method: 'GET' | 'HEAD';
  readonly keepAlive: boolean;
  readonly pipelining: number;
  /** Extra request headers, e.g. a Host override. */
  readonly headers: Readonly<Record<string, string>>;
  readonly userAgent: string;
}

export interface ConnectionHooks {
  onResponse(timing: RequestTiming, response: ParsedResponse): void;
  /** `count` requests ended without a response. */
  onFailure(kind: FailureKind, error: Error, count: number): void;
  /** The connection has room for another request (after a response, a failure or a reconnect). */
  onIdle(): void;
}

export interface Connection {
  /** Requests sent (or queued for sending) and not answered yet. */
  readonly inflight: number;
  /** Sends one request, opening the connection first when needed. `start` is its issue time. */
  send(start: number): void;
  /** Fails every in-flight request issued before `before` (a timeout) and drops the connection. */
  expire(before: number): void;
  /** Drops the connection and everything in flight, silently: the run is over. */
  destroy(): void;
}

export type ConnectionFactory = (target: RequestTarget, hooks: ConnectionHooks) => Connection;

/** The request head sent for every request, as bytes. */
export function requestHead(target: RequestTarget): Buffer {
  const u = target.url;
  const lines = [`${target.method} ${u.pathname}${u.search} HTTP/1.1`];
  const headers: Record<string, string> = { Host: u.host, 'User-Agent': target.userAgent, Accept: '*/*' };
  if (!target.keepAlive) headers['Connection'] = 'close';
  Object.assign(headers, target.headers);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
