// The client side of the sink/echo protocol (proto/src/sink/protocol.ts): reaching a sink,
// checking that it speaks the protocol, and the three ways the network benchmarks load it.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeSinkReply, formatHostPort, MODE_ECHO, MODE_ONE_SHOT, MODE_SINK, SINK_REPLY_BYTES, type HostPort } from '@guestbench/proto';

/** The sink could not be reached, does not speak the protocol, or broke off. */
export class NetSinkError extends Error {
  override readonly name = 'NetSinkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isNetSinkError(err: unknown): err is NetSinkError {
  return err instanceof NetSinkError;
}

/** How long connecting to and probing a sink may take. @default 5000 */
export const CONNECT_TIMEOUT_MS = 5000;

const PROBE_BYTE = 0x2a;

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/**
 * Opens a TCP connection to the sink; a refusal or a timeout is a NetSinkError. `noDelay`
 * (TCP_NODELAY) suits request/response; bulk transfer keeps Nagle's algorithm, as iperf3
 * and netperf's TCP_STREAM do by default.
 */
export function connectSocket(address: HostPort, timeoutMs = CONNECT_TIMEOUT_MS, noDelay = true): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, noDelay, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NetSinkError(`no answer from the network sink at ${formatHostPort(address)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(new NetSinkError(`cannot reach the network sink at ${formatHostPort(address)}: ${describe(err)}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Collects everything a socket sends until it closes its side. */
function readToEnd(socket: net.Socket, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', (err) => reject(new NetSinkError(`${what}: ${describe(err)}`, { cause: err })));
    socket.once('close', () => reject(new NetSinkError(`${what}: the connection closed before the sink answered`)));
  });
}

/**
 * One transaction of mode 'C': connect, send one byte, receive it back, see the server close.
 * Resolves when the server has closed.
 */
export function oneShot(address: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
    let answered = false;
    // Written before the connection is up: Node sends it with the first segment after the handshake.
    socket.write(ONE_SHOT_REQUEST);
    socket.on('data', (chunk: Buffer) => {
      if (chunk[0] === PROBE_BYTE) answered = true;
    });
    socket.once('end', () => {
      socket.destroy();
      if (answered) resolve();
      else reject(new NetSinkError(`the endpoint at ${formatHostPort(address)} closed without answering: not a guestbench sink?`));
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(new NetSinkError(`connection to the network sink at ${formatHostPort(address)} failed: ${describe(err)}`, { cause: err }));
    });
  });
}

const ONE_SHOT_REQUEST = Buffer.from([MODE_ONE_SHOT, PROBE_BYTE]);

/**
 * Checks that a guestbench sink answers at `address`: one mode 'C' transaction within the
 * timeout. Gives a NetSinkError that names the address and what went wrong.
 */
export async function checkSink(address: HostPort, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  const socket = await connectSocket(address, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = readToEnd(socket, `the network sink at ${formatHostPort(address)}`);
    answer.catch(() => undefined); // raced below; a late failure after a timeout must not be unhandled
    socket.write(ONE_SHOT_REQUEST);
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new NetSinkError(`the endpoint at ${formatHostPort(address)} did not answer within ${timeoutMs} ms: not a guestbench sink?`)),
        timeoutMs,
      );
    });
    const got = await Promise.race([answer, timedOut]);
    if (got.length !== 1 || got[0] !== PROBE_BYTE) {
      throw new NetSinkError(`the endpoint at ${formatHostPort(address)} does not speak the guestbench sink protocol (answered ${got.length} bytes)`);
    }
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

export interface StreamOptions {
  /** Parallel connections. */
  readonly streams: number;
  /** The buffer handed to each write. */
  readonly block: Buffer;
  /** Seconds sent but not counted at the start, as `iperf3 -O` leaves them out. */
  readonly omitSeconds: number;
  /** Seconds counted. */
  readonly seconds: number;
  readonly signal: AbortSignal;
}

export interface StreamResult {
  /** Bytes sent in the counted interval, every one of them confirmed by the sink's count. */
  readonly bytes: number;
  /** From the end of the omitted interval until the sink confirmed the last byte. */
  readonly seconds: number;
}

interface StreamState {
  readonly socket: net.Socket;
  readonly reply: Promise<Buffer>;
  written: number;
  atOmit: number;
}

/**
 * Bulk transfer to a sink over `streams` connections (mode 'S'). Counting starts after the
 * omitted seconds; the clock stops when every sink has confirmed its byte count, so bytes
 * still in socket buffers when sending stops are counted only once they arrived.
 */
export async function streamToSink(address: HostPort, options: StreamOptions): Promise<StreamResult> {
  const sockets = await Promise.all(Array.from({ length: options.streams }, () => connectSocket(address, CONNECT_TIMEOUT_MS, false)));
  try {
    let stopped = false;
    const states: StreamState[] = sockets.map((socket) => {
      const reply = readToEnd(socket, `stream to the network sink at ${formatHostPort(address)}`);
      reply.catch(() => undefined); // awaited below; an early failure must not be unhandled
      socket.write(Buffer.from([MODE_SINK]));
      return { socket, reply, written: 0, atOmit: 0 };
    });
    const pump = (state: StreamState): void => {
      // Write until the socket pushes back; yield now and then so the timers can fire.
      for (let n = 0; !stopped && n < 64; n++) {
        state.written += options.block.length;
        if (!state.socket.write(options.block)) {
          state.socket.once('drain', () => pump(state));
          return;
        }
      }
      if (!stopped) setImmediate(() => pump(state));
    };
    states.forEach(pump);
    await sleep(options.omitSeconds * 1000, undefined, { signal: options.signal });
    const omitEnd = performance.now();
    for (const s of states) s.atOmit = s.written;
    await sleep(options.seconds * 1000, undefined, { signal: options.signal });
    stopped = true;
    for (const s of states) s.socket.end();
    const replies = await Promise.all(states.map((s) => s.reply));
    const end = performance.now();
    let bytes = 0;
    states.forEach((s, i) => {
      const reply = replies[i] as Buffer;
      if (reply.length !== SINK_REPLY_BYTES) throw new NetSinkError(`the sink answered ${reply.length} bytes instead of its ${SINK_REPLY_BYTES}-byte count`);
      const received = decodeSinkReply(reply);
      if (received !== s.written) throw new NetSinkError(`the sink received ${received} bytes of the ${s.written} sent`);
      bytes += s.written - s.atOmit;
    });
    return { bytes, seconds: (end - omitEnd) / 1000 };
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** A persistent mode 'E' connection for request/response round trips. */
export class EchoConnection {
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly address: HostPort,
  ) {
    socket.on('error', (err) => {
      this.failure = err;
    });
  }

  static async open(address: HostPort): Promise<EchoConnection> {
    const socket = await connectSocket(address);
    socket.write(Buffer.from([MODE_ECHO]));
    return new EchoConnection(socket, address);
  }

  /**
   * One-byte requests, each sent when the previous answer came back, for `seconds`. Each
   * round trip's time goes to `record` in µs.
   */
  roundTrips(seconds: number, record: (microseconds: number) => void, signal: AbortSignal): Promise<{ ops: number; seconds: number }> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const endAt = start + seconds * 1000;
      let sent = start;
      let ops = 0;
      let awaited = 0;
      const finish = (): void => {
        socket.off('data', onData);
        socket.off('close', onClose);
      };
      const onData = (chunk: Buffer): void => {
        awaited -= chunk.length;
        if (awaited > 0) return;
        const t = performance.now();
        record((t - sent) * 1000);
        ops++;
        if (t >= endAt || signal.aborted) {
          finish();
          if (signal.aborted) reject(signal.reason);
          else resolve({ ops, seconds: (t - start) / 1000 });
          return;
        }
        sent = t;
        awaited = 1;
        socket.write(REQUEST_BYTE);
      };
      const onClose = (): void => {
        finish();
        const why = this.failure !== undefined ? `: ${describe(this.failure)}` : '';
        reject(new NetSinkError(`the echo connection to ${formatHostPort(this.address)} closed during a trial${why}`, { cause: this.failure }));
      };
      socket.on('data', onData);
      socket.once('close', onClose);
      awaited = 1;
      socket.write(REQUEST_BYTE);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

const REQUEST_BYTE = Buffer.from([PROBE_BYTE]);
