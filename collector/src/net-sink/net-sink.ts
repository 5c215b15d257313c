// The collector's sink/echo endpoint for the agents' net.* benchmarks, on its own TCP port
// beside gRPC, announced to agents at enrollment.
//
// The protocol (the agent's src/net/protocol.ts has the client and a server of its own for
// `guestbench-agent serve-net`): a client sends one mode byte, then
//   'S' sink  – the server discards everything until the client's FIN, answers the count of
//               bytes after the mode byte as an 8-byte big-endian unsigned integer, closes;
//   'E' echo  – the server sends back every byte as it arrives, until the client closes;
//   'C' one   – the server reads one byte, sends it back and closes first.
// Any other mode byte closes the connection. The server sets TCP_NODELAY; clients set it for
// request/response, not for bulk transfer.
// The two servers are kept small and identical in behaviour; test/integration/net-sink.test.ts
// runs the same byte-level checks against both.
import net from 'node:net';
import type { Logger } from '../log';

const MODE_SINK = 0x53;
const MODE_ECHO = 0x45;
const MODE_ONE_SHOT = 0x43;

export interface NetSink {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Handler {
  /** `chunk` is only valid during the call (it may be the reused read buffer). */
  onData(chunk: Buffer): void;
  onEnd(): void;
}

function protocolHandler(socket: net.Socket): Handler {
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
      if (mode === MODE_SINK) {
        const reply = Buffer.alloc(8);
        reply.writeBigUInt64BE(BigInt(count));
        socket.end(reply);
      } else if (mode === MODE_ECHO || (mode === MODE_ONE_SHOT && !answered)) socket.end();
    },
  };
}

/**
 * Moves an accepted, paused connection into a Socket that reads into one reused buffer.
 * Node's normal reading allocates a fresh 64 KiB buffer per read, which on loopback costs
 * 2–3 times iperf3's CPU per byte and makes the sink, not the network, what net.tcp_stream
 * measures; but Node offers `onread` only for sockets it creates, so the accepted handle is
 * moved (undocumented `_handle` and `handle`; undefined, touching nothing, where missing).
 */
function adoptWithBuffer(accepted: net.Socket, buffer: Buffer, attach: (socket: net.Socket) => Handler): net.Socket | undefined {
  const holder = accepted as unknown as { _handle: unknown };
  const handle = holder._handle;
  if (handle === null || typeof handle !== 'object') return undefined;
  let handler: Handler | undefined;
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
  holder._handle = null;
  accepted.destroy();
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  handler = attach(socket);
  return socket;
}

/** Starts the sink on `host:port` (port 0 picks a free one) and resolves once it listens. */
export function startNetSink(host: string, port: number, logger: Logger): Promise<NetSink> {
  const log = logger.child({ component: 'net-sink' });
  const sockets = new Set<net.Socket>();
  const readBuffer = Buffer.allocUnsafeSlow(256 * 1024);
  const attach = (socket: net.Socket): Handler => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
    const handler = protocolHandler(socket);
    socket.once('end', () => handler.onEnd());
    return handler;
  };
  let warned = false;
  // allowHalfOpen: after the client's FIN the sink still has its byte count to send.
  // pauseOnConnect: no byte is read before the connection has its reused buffer.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (accepted) => {
    if (adoptWithBuffer(accepted, readBuffer, attach) !== undefined) return;
    if (!warned) {
      warned = true;
      log.warn({ event: 'net-sink-slow-reads' }, 'net sink: this Node cannot read into a reused buffer; net.tcp_stream may measure the sink');
    }
    const handler = attach(accepted);
    accepted.on('data', (chunk: Buffer) => handler.onData(chunk));
    accepted.resume();
  });
  return new Promise<NetSink>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`net sink: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen({ host, port }, () => {
      const bound = (server.address() as net.AddressInfo).port;
      log.info({ event: 'net-sink-listening', host, port: bound }, 'net sink listening');
      resolve({
        host,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
