// Starts the whole collector: the store, the gRPC server and the HTTP API, and stops them.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { AgentServiceService, QueryServiceService } from '@guestbench/proto';
import type http from 'node:http';
import { createAgentService } from './grpc/agent-service';
import { createQueryService } from './grpc/query-service';
import { createHttpApi, listenHttp } from './http/http-server';
import type { Logger } from './log';
import { SqliteStore } from './store/sqlite-store';
import type { Store } from './store/store';

export interface CollectorOptions {
  /** HOST:PORT for gRPC. @default "127.0.0.1:50051" */
  readonly grpcAddress: string;
  /** HOST:PORT for HTTP. @default "127.0.0.1:8080" */
  readonly httpAddress: string;
  /** The SQLite file, or a ready store. */
  readonly store: Store | { readonly sqliteFile: string };
  readonly logger: Logger;
  /** @default 5000 */
  readonly heartbeatIntervalMs?: number;
}

export interface RunningCollector {
  readonly grpcPort: number;
  readonly grpcAddress: string;
  readonly httpPort: number;
  readonly httpUrl: string;
  readonly store: Store;
  close(): Promise<void>;
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  if (m === null || Number(m[2]) > 65535) throw new Error(`expected HOST:PORT, got "${address}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const log = options.logger;
  const store = 'sqliteFile' in options.store ? new SqliteStore(options.store.sqliteFile) : options.store;
  const grpcServer = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  grpcServer.addService(AgentServiceService, createAgentService({ store, logger: log, heartbeatIntervalMs: options.heartbeatIntervalMs }));
  grpcServer.addService(QueryServiceService, createQueryService({ store, logger: log }));
  const g = splitHostPort(options.grpcAddress);
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(`${formatHost(g.host)}:${g.port}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  let httpServer: http.Server | undefined;
  try {
    const h = splitHostPort(options.httpAddress);
    httpServer = createHttpApi({ store, logger: log });
    const addr = await listenHttp(httpServer, h.host, h.port);
    const grpcAddress = `${formatHost(g.host)}:${grpcPort}`;
    const httpUrl = `http://${formatHost(h.host)}:${addr.port}`;
    log.info({ event: 'collector-listening', grpc: grpcAddress, http: httpUrl }, 'collector listening');
    const server = httpServer;
    return {
      grpcPort,
      grpcAddress,
      httpPort: addr.port,
      httpUrl,
      store,
      async close() {
        await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      },
    };
  } catch (err: unknown) {
    grpcServer.forceShutdown();
    httpServer?.close();
    await store.close();
    throw err;
  }
}
