// Serves the sink/echo protocol (protocol.ts) on one TCP port: the one server behind the
// collector's net sink, `guestbench-agent serve-net` and the benchmarks' in-process fallback.
//
// The sink must cost less CPU per byte than the sender it measures, or on a small machine it
// becomes what is measured. Node's normal socket reading allocates a fresh 64 KiB buffer for
// every read and emits it as a stream chunk: on loopback that costs 2–3 times the CPU per
// byte of iperf3's receiver, and net.tcp_stream came out at a third of iperf3. Reading into
// one reused buffer (the `onread` option) is as cheap as iperf3, but Node offers `onread`
// only for sockets it creates itself, not for accepted ones; so an accepted connection's
// handle is moved into a new Socket made with `onread`. That uses the undocumented (and
// long-standing) `_handle` property and `handle` option: when they are missing, the server
// falls back to normal reading, which is correct, only slower.
import net from 'node:net';
import { formatHostPort, type HostPort } from '../vocabulary/host-port';
import { encodeSinkReply, MODE_ECHO, MODE_ONE_SHOT, MODE_SINK } from './protocol';

export interface SinkServer {
  /** Where it listens, with the port it got. */
  readonly address: HostPort;
  /** Connections served so far. */
  readonly connections: number;
  /** Whether connections are read into one reused buffer (see the top of this file). */
  readonly reusedBuffer: boolean;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** The protocol for one connection, fed with the bytes it receives. */
interface ConnectionHandler {
  /** `chunk` is only valid during the call (it may be a reused buffer). */
  onData(chunk: Buffer): void;
  onEnd(): void;
}

/** Handles one connection according to its mode byte. */
function protocolHandler(socket: net.Socket): ConnectionHandler {
  let mode: number | undefined;
  let count = 0;
  let answered = false;
  return {
    onData(chunk) {
      let data = chunk;
      if (mode === undefined) {
        mode = data[0];
        data = data.subarray(1);
        if (mode !== MODE_SINK && mode !== MODE_ECHO && mode !== MODE_ONE_SHOT) {
          socket.destroy();
          return;
        }
      }
      if (data.length === 0) return;
      if (mode === MODE_SINK) count += data.length;
      else if (mode === MODE_ECHO) socket.write(Buffer.from(data));
      else if (!answered) {
        answered = true;
        socket.end(Buffer.from([data[0] as number]));
      }
    },
    onEnd() {
      if (mode === MODE_SINK) socket.end(encodeSinkReply(count));
      else if (mode === MODE_ECHO || (mode === MODE_ONE_SHOT && !answered)) socket.end();
    },
  };
}

/** The undocumented parts of net.Socket that moving a handle needs. */
interface SocketWithHandle {
  _handle: unknown;
}

/**
 * Moves an accepted (paused) connection into a Socket that reads into `buffer`, calling
 * `attach` before any byte arrives. Returns undefined, touching nothing, where this Node has
 * no `_handle` to move.
 */
function adoptWithBuffer(accepted: net.Socket, buffer: Buffer, attach: (socket: net.Socket) => ConnectionHandler): net.Socket | undefined {
  const handle = (accepted as unknown as SocketWithHandle)._handle;
  if (handle === null || typeof handle !== 'object') return undefined;
  // eslint-disable-next-line prefer-const -- read by onread before attach() returns it
  let handler: ConnectionHandler | undefined;
  const options = {
    handle,
    allowHalfOpen: true,
    onread: {
      buffer,
      callback: (bytes: number, buf: Uint8Array): boolean => {
        handler?.onData(Buffer.from(buf.buffer, buf.byteOffset, bytes));
        return true;
      },
    },
  };
  // The old Socket lets go of the handle, then is destroyed: its server's connection count
  // drops and nothing is closed.
  (accepted as unknown as SocketWithHandle)._handle = null;
  accepted.destroy();
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  handler = attach(socket);
  return socket;
}

export interface SinkServerOptions {
  /** Called once, at the first connection that must be read the slow way (see the top of this file). */
  readonly onSlowReads?: () => void;
}

/** Starts a sink on `address` (port 0 picks a free one) and resolves once it listens. */
export function startSinkServer(address: HostPort, options: SinkServerOptions = {}): Promise<SinkServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let reusedBuffer = true;
  // One buffer for every connection: each read is consumed before the next one starts.
  const readBuffer = Buffer.allocUnsafeSlow(256 * 1024);
  const attach = (socket: net.Socket): ConnectionHandler => {
    connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
    const handler = protocolHandler(socket);
    socket.once('end', () => handler.onEnd());
    return handler;
  };
  // allowHalfOpen: after the client's FIN the sink still has its byte count to send.
  // pauseOnConnect: no byte is read before the connection has its reused buffer.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (accepted) => {
    if (adoptWithBuffer(accepted, readBuffer, attach) !== undefined) return;
    if (reusedBuffer) options.onSlowReads?.();
    reusedBuffer = false;
    const handler = attach(accepted);
    accepted.on('data', (chunk: Buffer) => handler.onData(chunk));
    accepted.resume();
  });
  return new Promise<SinkServer>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', reject);
      const bound = server.address() as net.AddressInfo;
      resolve({
        address: { host: address.host, port: bound.port },
        get connections() {
          return connections;
        },
        get reusedBuffer() {
          return reusedBuffer;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  }).catch((err: unknown) => {
    throw new Error(`cannot listen on ${formatHostPort(address)}: ${(err as Error).message}`, { cause: err });
  });
}
