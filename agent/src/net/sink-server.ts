// Serves the sink/echo protocol (protocol.ts) on one TCP port. Used by
// `guestbench-agent serve-net` and, when no sink is known, by the benchmarks themselves.
import net from 'node:net';
import { formatHostPort, type HostPort } from './address';
import { encodeSinkReply, MODE_ECHO, MODE_ONE_SHOT, MODE_SINK } from './protocol';

export interface SinkServer {
  /** Where it listens, with the port it got. */
  readonly address: HostPort;
  /** Connections served so far. */
  readonly connections: number;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Handles one accepted connection according to its mode byte. */
export function serveConnection(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    const mode = first[0];
    const rest = first.subarray(1);
    switch (mode) {
      case MODE_SINK: {
        let count = rest.length;
        socket.on('data', (chunk: Buffer) => {
          count += chunk.length;
        });
        socket.once('end', () => socket.end(encodeSinkReply(count)));
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

/** Starts a sink on `address` (port 0 picks a free one) and resolves once it listens. */
export function startSinkServer(address: HostPort): Promise<SinkServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  // allowHalfOpen: after the client's FIN the sink still has its byte count to send.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', reject);
      const bound = server.address() as net.AddressInfo;
      resolve({
        address: { host: address.host, port: bound.port },
        get connections() {
          return connections;
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
  }) as Promise<SinkServer>;
}
