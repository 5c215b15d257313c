// The collector's sink/echo endpoint for the agents' net.* benchmarks, on its own TCP port
// beside gRPC, announced to agents at enrollment.
//
// The protocol (the agent's src/net/protocol.ts has the client and a server of its own for
// `guestbench-agent serve-net`): a client sends one mode byte, then
//   'S' sink  – the server discards everything until the client's FIN, answers the count of
//               bytes after the mode byte as an 8-byte big-endian unsigned integer, closes;
//   'E' echo  – the server sends back every byte as it arrives, until the client closes;
//   'C' one   – the server reads one byte, sends it back and closes first.
// Any other mode byte closes the connection. Both sides set TCP_NODELAY.
// The two servers are kept small and identical in behaviour; test/integration/net-sink-*.test.ts
// runs the agent's client against both.
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

function serve(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    const rest = first.subarray(1);
    switch (first[0]) {
      case MODE_SINK: {
        let count = rest.length;
        socket.on('data', (chunk: Buffer) => {
          count += chunk.length;
        });
        socket.once('end', () => {
          const reply = Buffer.alloc(8);
          reply.writeBigUInt64BE(BigInt(count));
          socket.end(reply);
        });
        return;
      }
      case MODE_ECHO:
        if (rest.length > 0) socket.write(rest);
        socket.on('data', (chunk: Buffer) => socket.write(chunk));
        socket.once('end', () => socket.end());
        return;
      case MODE_ONE_SHOT: {
        const answer = (chunk: Buffer): void => {
          socket.end(chunk.subarray(0, 1));
        };
        if (rest.length > 0) answer(rest);
        else socket.once('data', answer);
        return;
      }
      default:
        socket.destroy();
    }
  });
}

/** Starts the sink on `host:port` (port 0 picks a free one) and resolves once it listens. */
export function startNetSink(host: string, port: number, logger: Logger): Promise<NetSink> {
  const log = logger.child({ component: 'net-sink' });
  const sockets = new Set<net.Socket>();
  // allowHalfOpen: after the client's FIN the sink still has its byte count to send.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket);
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
