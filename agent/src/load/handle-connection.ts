// The default transport: libuv TCP handles driven directly, under node:net's Socket, with
// the incremental response parser. Without keep-alive every request opens a connection, and a
// node:net Socket (a stream with its buffers, events and timers) costs some 60 µs of CPU to
// set up and tear down, on top of the kernel's ~45 µs; ab spends ~3 µs of user time on it.
// With the bare handle the connect, the request write and the read are queued in one go and
// each request costs the JavaScript four callbacks. docs/web-benchmark.md has the numbers.
//
// The handles come from process.binding('tcp_wrap'), which Node still exposes (for modules
// such as this) but does not document. When it is missing or not what this code expects,
// handlesAvailable() says so and the engine uses the node:net transport instead.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { getSystemErrorName } from 'node:util';
import { CLOSE_GRACE_MS, SocketConnection, type Pending } from './socket-connection';
import type { Connection, ConnectionHooks, RequestTarget } from './transport';

/** The parts of Node's TCPWrap used here. */
interface TcpHandle {
  onread: (this: TcpHandle) => void;
  connect(req: ConnectRequest, address: string, port: number): number;
  connect6(req: ConnectRequest, address: string, port: number): number;
  writeBuffer(req: WriteRequest, data: Buffer): number;
  readStart(): number;
  useUserBuffer(buffer: Uint8Array): void;
  setNoDelay(on: boolean): number;
  close(callback?: () => void): void;
}
interface ConnectRequest {
  oncomplete: (status: number) => void;
}
interface WriteRequest {
  handle: TcpHandle;
  buffer: Buffer;
  oncomplete: (status: number) => void;
  async: boolean;
}
interface Bindings {
  newHandle(): TcpHandle;
  newConnect(): ConnectRequest;
  newWrite(): WriteRequest;
  state: Int32Array;
  readBytes: number;
}

/** libuv's end-of-file "error". */
const UV_EOF = -4095;
const READ_BUFFER = 64 * 1024;

let bindings: Bindings | null | undefined;

/**
 * One read buffer for all connections: the parser copies what it keeps, and libuv calls back
 * after every read, so no read overwrites bytes still needed. 32 connections with 64 KiB each
 * cost measurably more CPU per request (cache misses in the kernel's copy) than one buffer.
 */
let shared: Buffer | undefined;
function readBuffer(): Buffer {
  shared ??= Buffer.allocUnsafe(READ_BUFFER);
  return shared;
}

function loadBindings(): Bindings | null {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcp = binding('tcp_wrap') as { TCP: new (type: number) => TcpHandle; TCPConnectWrap: new () => ConnectRequest; constants: { SOCKET: number } };
    const stream = binding('stream_wrap') as { WriteWrap: new () => WriteRequest; streamBaseState: Int32Array; kReadBytesOrError: number };
    const { TCP, TCPConnectWrap, constants } = tcp;
    const { WriteWrap, streamBaseState, kReadBytesOrError } = stream;
    if (typeof TCP !== 'function' || typeof TCPConnectWrap !== 'function' || typeof WriteWrap !== 'function') return null;
    // Not instanceof: a test sandbox (jest's vm context) has Int32Array of another realm.
    if (
      Object.prototype.toString.call(streamBaseState) !== '[object Int32Array]' ||
      typeof kReadBytesOrError !== 'number' ||
      typeof constants?.SOCKET !== 'number'
    )
      return null;
    const probe = new TCP(constants.SOCKET);
    const complete = ['connect', 'connect6', 'writeBuffer', 'readStart', 'useUserBuffer', 'setNoDelay', 'close'].every(
      (m) => typeof (probe as unknown as Record<string, unknown>)[m] === 'function',
    );
    probe.close();
    if (!complete) return null;
    return {
      newHandle: () => new TCP(constants.SOCKET),
      newConnect: () => new TCPConnectWrap(),
      newWrite: () => new WriteWrap(),
      state: streamBaseState,
      readBytes: kReadBytesOrError,
    };
  } catch {
    return null;
  }
}

/** Whether this Node exposes the TCP handles this transport needs. */
export function handlesAvailable(): boolean {
  if (bindings === undefined) bindings = loadBindings();
  return bindings !== null;
}

function uvError(status: number, what: string): Error {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `error ${status}`;
  }
  return Object.assign(new Error(`${what}: ${code}`), { code });
}

/** One address per host name for the whole run, as ab resolves its host once. */
const resolved = new Map<string, Promise<{ address: string; family: number }>>();

function resolveHost(host: string): Promise<{ address: string; family: number }> {
  let p = resolved.get(host);
  if (p === undefined) {
    p = new Promise((resolve, reject) => lookup(host, (err, address, family) => (err ? reject(err) : resolve({ address, family }))));
    resolved.set(host, p);
    p.catch(() => resolved.delete(host));
  }
  return p;
}

/** A handle done with, left for the server to close. */
interface Retired {
  handle: TcpHandle;
  since: number;
}

class HandleConnection extends SocketConnection {
  private readonly b: Bindings;
  private handle: TcpHandle | undefined;
  /** Shared by every connection of the thread: each read is parsed before the next one. */
  private readonly buffer = readBuffer();
  private readonly host: string;
  private readonly port: number;
  private address: { address: string; family: number } | undefined;
  /** Bumped for every new handle, so that a late callback of an old one is recognised. */
  private generation = 0;
  /** Handles done with, waiting for the server to close them. */
  private closing = new Set<Retired>();

  constructor(target: RequestTarget, hooks: ConnectionHooks) {
    super(target, hooks);
    if (!handlesAvailable()) throw new Error('the handle transport is not available in this Node; use the net transport');
    this.b = bindings as Bindings;
    const { hostname, port } = target.url;
    this.host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    this.port = Number(port || 80);
    const family = isIP(this.host);
    if (family !== 0) this.address = { address: this.host, family };
  }

  send(start: number): void {
    const pending = this.enqueue(start);
    if (this.handle === undefined) this.open();
    else if (this.connected) this.write([pending], performance.now());
  }

  override expire(before: number): void {
    this.sweep();
    super.expire(before);
  }

  destroy(): void {
    this.drop();
    for (const r of this.closing) r.handle.close();
    this.closing.clear();
  }

  protected open(): void {
    this.beginOpen();
    const generation = ++this.generation;
    if (this.address === undefined) {
      // A placeholder so that send() queues instead of opening again while the name resolves.
      this.handle = this.b.newHandle();
      const placeholder = this.handle;
      // A placeholder dropped meanwhile was closed with it (closeCurrent).
      resolveHost(this.host).then(
        (a) => {
          this.address = a;
          if (this.generation !== generation) return;
          placeholder.close();
          this.handle = undefined;
          this.open();
        },
        (err: Error) => this.fail(generation, 'connect', err),
      );
      return;
    }
    const b = this.b;
    const handle = b.newHandle();
    this.handle = handle;
    const req = b.newConnect();
    req.oncomplete = (status: number): void => {
      if (this.generation !== generation) return;
      if (status < 0) return this.fail(generation, 'connect', uvError(status, `connect to ${this.host}:${this.port}`));
      const now = performance.now();
      this.connectedAt(now);
      if (this.queue.length > 0) this.write(this.queue, now);
    };
    const state = b.state;
    const at = b.readBytes;
    handle.onread = (): void => {
      const n = state[at] as number;
      if (this.generation !== generation) return;
      if (n > 0) this.onData(this.buffer, n);
      else if (n < 0) this.onEnd(generation, n);
    };
    const err = this.address.family === 6 ? handle.connect6(req, this.address.address, this.port) : handle.connect(req, this.address.address, this.port);
    if (err < 0) {
      // Refused before anything was sent (no free port, bad address): report it on the next
      // turn, as a socket would, so the engine is not re-entered from its own send().
      setImmediate(() => {
        if (this.generation === generation) this.fail(generation, 'connect', uvError(err, `connect to ${this.host}:${this.port}`));
      });
      return;
    }
    // Only a second request written before the first is acknowledged can wait for Nagle's
    // algorithm; without keep-alive the setsockopt() would be one more system call per request.
    if (this.target.keepAlive) handle.setNoDelay(true);
    // Reading starts now: libuv watches the socket once for the connect and the answer.
    handle.useUserBuffer(this.buffer);
    handle.readStart();
  }

  private write(pending: Pending[], now: number): void {
    const handle = this.handle as TcpHandle;
    for (const p of pending) p.written = now;
    const data = pending.length === 1 ? this.head : Buffer.concat(pending.map(() => this.head));
    const req = this.b.newWrite();
    req.handle = handle;
    req.async = false;
    // Kept alive with the request while libuv may still be writing it.
    req.buffer = data;
    const generation = this.generation;
    req.oncomplete = (status: number): void => {
      if (status < 0 && this.generation === generation) this.fail(generation, 'receive', uvError(status, 'write'));
    };
    const err = handle.writeBuffer(req, data);
    if (err < 0) setImmediate(() => this.generation === generation && this.fail(generation, 'receive', uvError(err, 'write')));
  }

  /** End of file or a read error on the current handle. */
  private onEnd(generation: number, status: number): void {
    if (this.generation !== generation) return;
    const wasConnected = this.connected;
    const clean = this.parser.end() && status === UV_EOF;
    if (!wasConnected) return this.fail(generation, 'connect', uvError(status, 'connection closed while connecting'));
    this.closeCurrent();
    if (this.queue.length === 0) return;
    this.closedWithRequests(clean, status === UV_EOF ? new Error('connection closed before the response was complete') : uvError(status, 'read'));
  }

  /** Fails everything in flight on the current handle (if it is still `generation`) and closes it. */
  private fail(generation: number, kind: 'connect' | 'receive', err: Error): void {
    if (this.generation !== generation) return;
    this.closeCurrent();
    this.failQueue(kind, err);
  }

  private closeCurrent(): void {
    const handle = this.handle;
    this.handle = undefined;
    this.connected = false;
    this.generation++;
    handle?.close();
  }

  /**
   * Leaves the current handle to close in the background. The server closes it (it said
   * so): closing it first would leave this side in TIME_WAIT, and connect() slows down as
   * those pile up, which ab and wrk, who let the server close, do not suffer. The next
   * request does not wait: it gets a new connection. The handle is closed at its end of
   * file, or by expire() once it has waited CLOSE_GRACE_MS.
   */
  protected retire(): void {
    const handle = this.handle;
    this.handle = undefined;
    this.connected = false;
    this.generation++;
    if (handle === undefined) return;
    const retired: Retired = { handle, since: performance.now() };
    this.closing.add(retired);
    const state = this.b.state;
    const at = this.b.readBytes;
    handle.onread = (): void => {
      if ((state[at] as number) < 0 && this.closing.delete(retired)) handle.close();
    };
  }

  private sweep(): void {
    if (this.closing.size === 0) return;
    const before = performance.now() - CLOSE_GRACE_MS;
    for (const r of this.closing) {
      if (r.since < before) {
        this.closing.delete(r);
        r.handle.close();
      }
    }
  }

  protected drop(): void {
    this.queue = [];
    this.closeCurrent();
  }
}

export const handleConnection = (target: RequestTarget, hooks: ConnectionHooks): Connection => new HandleConnection(target, hooks);
