// What the two socket transports (node:net sockets and bare libuv handles) share: the queue of
// requests in flight, the response parser fed from each read, the bookkeeping of answers and
// the rules for timeouts, bad bytes and closes. A subclass owns the socket itself: how it is
// opened, written, retired (left for the server to close) and dropped.
import { performance } from 'node:perf_hooks';
import { ResponseParser, type ParsedResponse } from './response-parser';
import { requestHead, type Connection, type ConnectionHooks, type FailureKind, type RequestTarget } from './transport';

/** One request of a socket transport, from send() to its answer. */
export interface Pending {
  start: number;
  /** When send() was called; the timeout runs from here (start may be an earlier due time). */
  queued: number;
  connectMs: number;
  written: number;
  firstByte: number;
}

/** How long a connection the server said it would close may take to close before we do. */
export const CLOSE_GRACE_MS = 2000;

export abstract class SocketConnection implements Connection {
  /** Requests written or waiting for the connection, oldest first. */
  protected queue: Pending[] = [];
  protected connected = false;
  protected connectStart = 0;
  protected parser: ResponseParser;
  /** Responses received on the current socket: a close before any is not an idle close. */
  protected served = 0;
  /** The request head, the same bytes for every request. */
  protected readonly head: Buffer;
  /** When the bytes being parsed arrived: the first byte of any response that starts in them. */
  private readTime = 0;

  constructor(
    protected readonly target: RequestTarget,
    protected readonly hooks: ConnectionHooks,
  ) {
    this.head = requestHead(target);
    this.parser = this.newParser();
  }

  get inflight(): number {
    return this.queue.length;
  }

  abstract send(start: number): void;
  abstract destroy(): void;
  /** Opens a new socket for the queued requests (after beginOpen()). */
  protected abstract open(): void;
  /** Leaves the current socket for the server to close; the next request opens a new one. */
  protected abstract retire(): void;
  /** Closes the current socket and forgets everything in flight, without a word to the engine. */
  protected abstract drop(): void;

  expire(before: number): void {
    let old = false;
    for (const p of this.queue) if (p.queued < before) old = true;
    if (!old) return;
    const count = this.queue.length;
    const connected = this.connected;
    this.drop();
    if (connected) this.hooks.onFailure('exceptions', new Error('no response within the timeout'), count);
    else this.hooks.onFailure('connect', new Error('could not connect within the timeout'), count);
    this.hooks.onIdle();
  }

  /** A new request at the end of the queue. */
  protected enqueue(start: number): Pending {
    const pending: Pending = { start, queued: performance.now(), connectMs: 0, written: 0, firstByte: 0 };
    this.queue.push(pending);
    return pending;
  }

  /** The bookkeeping of a new socket; open() starts with it. */
  protected beginOpen(): void {
    this.connected = false;
    this.served = 0;
    this.parser = this.newParser();
    this.connectStart = performance.now();
  }

  /** The socket is connected at `now`: the first request waiting spent the time since beginOpen() on it. */
  protected connectedAt(now: number): void {
    this.connected = true;
    const first = this.queue[0];
    if (first !== undefined) first.connectMs = now - this.connectStart;
  }

  /** `n` bytes arrived in `buffer` on the current socket. */
  protected onData(buffer: Buffer, n: number): void {
    const readTime = performance.now();
    this.readTime = readTime;
    const head = this.queue[0];
    if (head !== undefined && head.firstByte === 0) head.firstByte = readTime;
    try {
      this.parser.feed(buffer, 0, n);
    } catch (err: unknown) {
      // Bytes that are not HTTP: everything in flight on this connection is lost.
      const count = this.queue.length;
      this.drop();
      this.hooks.onFailure('exceptions', err as Error, count);
      this.hooks.onIdle();
    }
  }

  /**
   * The server closed the connection with requests in flight. A clean close after at least
   * one answer, before any byte of the waiting requests, is the server dropping an idle
   * keep-alive connection just as it was reused: ab does not count that as a failure, and
   * neither do we; the same requests go again on a new connection. Anything else fails them.
   */
  protected closedWithRequests(clean: boolean, err: Error): void {
    if (clean && this.served > 0 && this.queue.every((p) => p.firstByte === 0)) {
      for (const p of this.queue) p.connectMs = 0;
      this.open();
    } else {
      this.failQueue('receive', err);
    }
  }

  /** Fails every request in flight as `kind` and tells the engine there is room; nothing when none is. */
  protected failQueue(kind: FailureKind, err: Error): void {
    const count = this.queue.length;
    this.queue = [];
    if (count === 0) return;
    this.hooks.onFailure(kind, err, count);
    this.hooks.onIdle();
  }

  private newParser(): ResponseParser {
    return new ResponseParser(
      (r) => this.onResponse(r),
      () => this.target.method === 'HEAD',
      true,
    );
  }

  private onResponse(response: ParsedResponse): void {
    const p = this.queue.shift();
    if (p === undefined) return;
    const end = performance.now();
    this.served++;
    // A pipelined response that began in the same read as the previous one started then.
    const firstByte = p.firstByte || this.readTime;
    const reuse = this.target.keepAlive && response.keepAlive;
    if (!reuse) this.retire();
    this.hooks.onResponse({ start: p.start, connectMs: p.connectMs, written: p.written, firstByte, end }, response);
    if (!reuse && this.queue.length > 0) this.open();
    this.hooks.onIdle();
  }
}
