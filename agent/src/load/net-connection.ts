// The node:net transport: one node:net socket per connection and the incremental response
// parser. It costs a fraction of undici's CPU per request (docs/web-benchmark.md has the
// numbers); the handle transport, the default, costs less again without keep-alive, and
// falls back to this one where a Node lacks the handles.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CLOSE_GRACE_MS, SocketConnection, type Pending } from './socket-connection';
import type { Connection, ConnectionHooks, RequestTarget } from './transport';

const READ_BUFFER = 64 * 1024;

class NetConnection extends SocketConnection {
  private socket: Socket | undefined;
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER);
  /** Sockets done with, waiting for the server to close them. */
  private closing = new Set<Socket>();

  send(start: number): void {
    const pending = this.enqueue(start);
    if (this.socket === undefined) this.open();
    else if (this.connected) this.write(pending);
  }

  destroy(): void {
    this.drop();
    for (const s of this.closing) s.destroy();
    this.closing.clear();
  }

  protected open(): void {
    this.beginOpen();
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
      const now = performance.now();
      this.connectedAt(now);
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

  private onClose(socket: Socket, err: Error | undefined): void {
    if (this.socket !== socket) return;
    const wasConnected = this.connected;
    const clean = this.parser.end();
    this.socket = undefined;
    this.connected = false;
    socket.destroy();
    if (this.queue.length === 0) return;
    if (!wasConnected) this.failQueue('connect', err ?? new Error('connection closed while connecting'));
    else this.closedWithRequests(clean, err ?? new Error('connection closed before the response was complete'));
  }

  /**
   * Leaves the current socket to close in the background. The server closes it (it said
   * so): closing it first would leave this side in TIME_WAIT, and connect() slows down as
   * those pile up, which ab and wrk, who let the server close, do not suffer. The next
   * request does not wait: it gets a new connection.
   */
  protected retire(): void {
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

  protected drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    this.queue = [];
    socket?.destroy();
  }
}

export const netConnection = (target: RequestTarget, hooks: ConnectionHooks): Connection => new NetConnection(target, hooks);
