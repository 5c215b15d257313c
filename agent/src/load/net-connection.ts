// The default transport: one node:net socket per connection and the incremental response
// parser. It costs a fraction of undici's CPU per request (docs/web-benchmark.md has the
// numbers), which matters because the load generator and the server share the guest's CPUs.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ResponseParser, type ParsedResponse } from './response-parser';
import { CLOSE_GRACE_MS, closedWhileIdle, requestHead, type Connection, type ConnectionHooks, type Pending, type RequestTarget } from './transport';

const READ_BUFFER = 64 * 1024;

class NetConnection implements Connection {
  private socket: Socket | undefined;
  private connected = false;
  private connectStart = 0;
  /** Requests written or waiting for the connection, oldest first. */
  private queue: Pending[] = [];
  private parser: ResponseParser;
  /** Responses received on the current socket: a close before any is not an idle close. */
  private served = 0;
  private readonly head: Buffer;
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER);
  /** When the bytes being parsed arrived: the first byte of any response that starts in them. */
  private readTime = 0;
  /** Sockets done with, waiting for the server to close them. */
  private closing = new Set<Socket>();

  constructor(
    private readonly target: RequestTarget,
    private readonly hooks: ConnectionHooks,
  ) {
    this.head = requestHead(target);
    this.parser = this.newParser();
  }

  get inflight(): number {
    return this.queue.length;
  }

  send(start: number): void {
    const pending: Pending = { start, queued: performance.now(), connectMs: 0, written: 0, firstByte: 0 };
    this.queue.push(pending);
    if (this.socket === undefined) this.open();
    else if (this.connected) this.write(pending);
  }

  expire(before: number): void {
    const old = this.queue.filter((p) => p.queued < before).length;
    if (old === 0) return;
    const count = this.queue.length;
    const connected = this.connected;
    this.drop();
    if (connected) this.hooks.onFailure('exceptions', new Error('no response within the timeout'), count);
    else this.hooks.onFailure('connect', new Error('could not connect within the timeout'), count);
    this.hooks.onIdle();
  }

  destroy(): void {
    this.drop();
    for (const s of this.closing) s.destroy();
    this.closing.clear();
  }

  private newParser(): ResponseParser {
    return new ResponseParser((r) => this.onResponse(r), () => this.target.method === 'HEAD', true);
  }

  private open(): void {
    this.connected = false;
    this.served = 0;
    this.parser = this.newParser();
    this.connectStart = performance.now();
    const { hostname, port } = this.target.url;
    const socket: Socket = connect({
      host: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
      port: Number(port || 80),
      noDelay: true,
      onread: {
        buffer: this.buffer,
        // Bytes of a retired socket (still closing) are not for the current parser.
        callback: (n: number, buf: Uint8Array): boolean => {
          if (this.socket === socket) this.onData(buf as Buffer, n);
          return true;
        },
      },
    });
    this.socket = socket;
    socket.once('connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      const now = performance.now();
      const first = this.queue[0];
      if (first !== undefined) first.connectMs = now - this.connectStart;
      socket.cork();
      for (const p of this.queue) this.write(p, now);
      socket.uncork();
    });
    socket.on('error', (err) => this.onClose(socket, err));
    socket.on('close', () => this.onClose(socket, undefined));
    // A half-closed socket ('end') is followed by 'close' because allowHalfOpen is false.
  }

  private write(p: Pending, now = performance.now()): void {
    p.written = now;
    this.socket?.write(this.head);
  }

  private onData(buf: Buffer, n: number): void {
    this.readTime = performance.now();
    const head = this.queue[0];
    if (head !== undefined && head.firstByte === 0) head.firstByte = this.readTime;
    try {
      this.parser.feed(buf, 0, n);
    } catch (err: unknown) {
      // Bytes that are not HTTP: everything in flight on this socket is lost.
      const count = this.queue.length;
      this.drop();
      this.hooks.onFailure('exceptions', err as Error, count);
      this.hooks.onIdle();
    }
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

  private onClose(socket: Socket, err: Error | undefined): void {
    if (this.socket !== socket) return;
    const wasConnected = this.connected;
    const clean = this.parser.end();
    this.socket = undefined;
    this.connected = false;
    socket.destroy();
    if (this.queue.length === 0) return;
    if (!wasConnected) {
      const count = this.queue.length;
      this.queue = [];
      this.hooks.onFailure('connect', err ?? new Error('connection closed while connecting'), count);
    } else if (closedWhileIdle(clean, this.served, this.queue)) {
      // The server closed an idle keep-alive connection as we reused it (ab does not count
      // this either): send the same requests again on a new connection.
      for (const p of this.queue) p.connectMs = 0;
      this.open();
      return;
    } else {
      const count = this.queue.length;
      this.queue = [];
      this.hooks.onFailure('receive', err ?? new Error('connection closed before the response was complete'), count);
    }
    this.hooks.onIdle();
  }

  /**
   * Leaves the current socket to close in the background. The server closes it (it said
   * so): closing it first would leave this side in TIME_WAIT, and connect() slows down as
   * those pile up, which ab and wrk, who let the server close, do not suffer. The next
   * request does not wait: it gets a new connection.
   */
  private retire(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    if (socket === undefined) return;
    this.closing.add(socket);
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      this.closing.delete(socket);
    });
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    this.queue = [];
    socket?.destroy();
  }
}

export const netConnection = (target: RequestTarget, hooks: ConnectionHooks): Connection => new NetConnection(target, hooks);
