// Starts the whole collector: the store, the gRPC services (agents, queries, jobs, health,
// reflection), the HTTP API with /metrics, the sweeper that marks silent runs lost; and
// stops them.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import {
  AgentServiceService,
  fileDescriptorProtos,
  formatHostPort,
  JobServiceService,
  parseHostPort,
  QueryServiceService,
  type HostPort,
  type SinkServer,
} from '@guestbench/proto';
import { HealthImplementation } from 'grpc-health-check';
import type http from 'node:http';
import os from 'node:os';
import { Authenticator } from './auth/authenticator';
import { createAgentService } from './grpc/agent-service';
import { createJobService } from './grpc/job-service';
import { createQueryService } from './grpc/query-service';
import { tolerantService } from './grpc/unary';
import { createHttpApi, listenHttp } from './http/http-server';
import { reportRoutes } from './http/report-routes';
import { JobBroker } from './jobs/job-broker';
import type { Logger } from './log';
import { createMetrics } from './metrics/metrics';
import { startNetSink } from './net-sink/net-sink';
import { fleetSummary, PresenceTracker } from './presence';
import { openStore } from './store/open-store';
import { SqliteStore } from './store/sql-store';
import type { Store } from './store/store';

export interface CollectorOptions {
  /** HOST:PORT for gRPC. @default "127.0.0.1:50051" */
  readonly grpcAddress: string;
  /** HOST:PORT for HTTP. @default "127.0.0.1:8080" */
  readonly httpAddress: string;
  /**
   * A ready store; a SQLite file; or `database`: a SQLite file or a postgres:// URL (see openStore),
   * with `maxConnections` for PostgreSQL (@default 10).
   */
  readonly store: Store | { readonly sqliteFile: string } | { readonly database: string; readonly maxConnections?: number | undefined };
  readonly logger: Logger;
  /** How often agents heartbeat during a run. @default 5000 */
  readonly heartbeatIntervalMs?: number;
  /** A running run unheard of for this long is marked lost. @default 6 × heartbeatIntervalMs */
  readonly lostAfterMs?: number;
  /**
   * HOST:PORT of the sink/echo endpoint for the agents' net.* benchmarks, announced at
   * enrollment; false for none. @default the gRPC host and the gRPC port + 1 ("127.0.0.1:50052"
   * with the default gRPC address), so it survives a restart; a free port when gRPC takes one
   */
  readonly netSinkAddress?: string | false;
  /** 'tokens': agents and operators must present a token; 'none': anyone may write (demo only). */
  readonly auth: 'tokens' | 'none';
  /**
   * A gRPC connection with no call open for this long is closed, also one that never sent a
   * request; agents' channels reconnect on their next call. @default 30000
   */
  readonly connectionIdleMs?: number;
  /** TLS for gRPC and HTTP; PEM contents. With clientCa, clients must present a certificate (mutual TLS). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  /**
   * This collector's name in the shared presence table (which agent is connected where).
   * @default "HOSTNAME:GRPC_PORT" with a fixed gRPC port, else "HOSTNAME:pidPID"
   */
  readonly collectorId?: string;
  /** How often agents waiting here are checked for jobs, should a notification be missed. @default 2000 */
  readonly jobPollMs?: number;
}

export interface RunningCollector {
  readonly grpcPort: number;
  readonly grpcAddress: string;
  readonly httpPort: number;
  readonly httpUrl: string;
  readonly store: Store;
  /** HOST:PORT of the net sink as announced to agents, or undefined when there is none. */
  readonly netSink: string | undefined;
  /** This collector's name in the shared presence table. */
  readonly collectorId: string;
  /** Marks silent runs lost now (the sweeper also does it periodically). */
  sweepLostRuns(): Promise<number>;
  close(): Promise<void>;
}

/** An address to listen on; port 0 picks a free one. */
function listenAddress(address: string): HostPort {
  const parsed = parseHostPort(address, { allowZero: true });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function grpcCredentials(tls: CollectorOptions['tls']): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

const SERVICE_NAMES = ['guestbench.v1.AgentService', 'guestbench.v1.QueryService', 'guestbench.v1.JobService'];

/** Whether a listen failed because the port is taken, however deep in `cause` (the sink wraps its listen error). */
function isAddressInUse(err: unknown): boolean {
  // Not `instanceof Error`: errors made by Node itself can come from another realm (under jest).
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'EADDRINUSE') return true;
  }
  return false;
}

/** How long a stopping collector lets open gRPC calls finish before cutting them. */
const SHUTDOWN_GRACE_MS = 1000;

export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const log = options.logger;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  const lostAfterMs = options.lostAfterMs ?? 6 * heartbeatIntervalMs;
  const store =
    'sqliteFile' in options.store
      ? new SqliteStore(options.store.sqliteFile)
      : 'database' in options.store
        ? await openStore(options.store.database, {
            maxConnections: options.store.maxConnections,
            onIdleError: (err) => log.warn({ err }, 'database connection lost while idle'),
            onListenError: (err) => log.warn({ err, event: 'job-listen-lost' }, 'job notification connection lost; reconnecting (jobs are polled meanwhile)'),
          })
        : options.store;
  const fixedPort = listenAddress(options.grpcAddress).port;
  const collectorId = options.collectorId ?? `${os.hostname()}:${fixedPort !== 0 ? fixedPort : `pid${process.pid}`}`;
  // Longer than the longest WaitForJob (60 s), during which a waiting agent makes no call.
  const presence = new PresenceTracker(store, { collectorId, timeoutMs: Math.max(3 * heartbeatIntervalMs, 65_000) });
  const jobs = new JobBroker(store, presence, {
    pollMs: options.jobPollMs,
    onPollError: (err) => log.warn({ err }, 'job poll failed'),
    onReleased: (agentId, jobId) => log.info({ event: 'job-released', agentId, jobId }, 'job given back: the agent stopped waiting as it was taken'),
  });
  try {
    await jobs.start();
  } catch (err: unknown) {
    await store.close();
    throw err;
  }
  const metrics = createMetrics({ store, connectedAgents: () => presence.localCount() });
  const auth = new Authenticator(store, options.auth === 'tokens');
  if (!auth.enabled) {
    log.warn({ event: 'auth-disabled' }, 'AUTHENTICATION IS OFF (--insecure-no-auth): anyone who reaches this collector can write results');
  }

  let sink: SinkServer | undefined;
  // The default sink port is the gRPC port + 1, so that it stays where it was across a
  // restart (agents mid-run keep dialling it); a free port only when gRPC takes a free one.
  const grpcListen = listenAddress(options.grpcAddress);
  const defaultSinkPort = grpcListen.port === 0 || grpcListen.port >= 65535 ? 0 : grpcListen.port + 1;
  const sinkAddress = options.netSinkAddress ?? formatHostPort({ host: grpcListen.host, port: defaultSinkPort });
  if (sinkAddress !== false) {
    const s = listenAddress(sinkAddress);
    try {
      try {
        sink = await startNetSink(s.host, s.port, log);
      } catch (err: unknown) {
        // Only the default may move: a port the operator chose fails loudly.
        if (options.netSinkAddress !== undefined || !isAddressInUse(err)) throw err;
        sink = await startNetSink(s.host, 0, log);
        log.warn(
          { event: 'net-sink-port-busy', wanted: s.port, port: sink.address.port },
          'the default net sink port is taken; using a free one (agents learn it when they enroll)',
        );
      }
    } catch (err: unknown) {
      await jobs.close();
      await store.close();
      throw err;
    }
  }
  const netSink = sink === undefined ? undefined : formatHostPort(sink.address);

  // Connections that never authenticate or go silent must not pile up: an idle limit closes a
  // connection without an open call, and keepalive pings find peers that vanished mid-call.
  const idleMs = options.connectionIdleMs ?? 30_000;
  const grpcServer = new Server({
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.max_connection_idle_ms': idleMs,
    'grpc.keepalive_time_ms': Math.max(1000, Math.min(20_000, idleMs)),
    'grpc.keepalive_timeout_ms': 10_000,
  });
  grpcServer.addService(
    tolerantService(AgentServiceService),
    createAgentService({ store, logger: log, presence, jobs, auth, metrics, heartbeatIntervalMs, netSink }),
  );
  grpcServer.addService(tolerantService(QueryServiceService), createQueryService({ store, logger: log, metrics }));
  grpcServer.addService(tolerantService(JobServiceService), createJobService({ store, jobs, auth, logger: log, metrics }));
  const health = new HealthImplementation(Object.fromEntries(['', ...SERVICE_NAMES].map((s) => [s, 'SERVING'])));
  health.addToServer(grpcServer);
  // Reflection from the compiled descriptors (not proto-loader's, whose type references are
  // unqualified and which lack grpc.health.v1): buf curl and grpcurl can then describe and
  // call every method, Health/Check included, without our .proto files. @grpc/reflection
  // reads only each entry's fileDescriptorProtos.
  const descriptors = { files: { fileDescriptorProtos: fileDescriptorProtos() } } as unknown as PackageDefinition;
  new ReflectionService(descriptors).addToServer(grpcServer);

  const g = listenAddress(options.grpcAddress);
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(formatHostPort(g), grpcCredentials(options.tls), (err, port) => (err ? reject(err) : resolve(port)));
  });

  // A run is lost when its agent went silent, not when this collector was down: heartbeats
  // missed while it was not running do not count, so a restart never marks live runs lost.
  const startedAt = Date.now();
  async function sweepLostRuns(): Promise<number> {
    const now = Date.now();
    if (now - startedAt < lostAfterMs) return 0;
    const lost = await store.markLostRuns(now - lostAfterMs, now);
    for (const run of lost) {
      log.warn(
        { event: 'run-lost', agentId: run.agentId, runId: run.id, lastHeartbeatMs: run.lastHeartbeatMs, silentForMs: now - run.lastHeartbeatMs },
        'run lost: no heartbeat',
      );
      metrics.runsEnded.inc({ status: 'lost' });
    }
    return lost.length;
  }
  const sweeper = setInterval(
    () => {
      sweepLostRuns().catch((err: unknown) => log.error({ err }, 'lost-run sweep failed'));
    },
    Math.max(1000, Math.min(heartbeatIntervalMs, 30_000)),
  );
  sweeper.unref();

  let httpServer: http.Server | undefined;
  try {
    const h = listenAddress(options.httpAddress);
    httpServer = createHttpApi({ store, logger: log, metrics, jobs, auth, fleet: () => fleetSummary(store, presence) }, reportRoutes(store), options.tls);
    const addr = await listenHttp(httpServer, h.host, h.port);
    const grpcAddress = formatHostPort({ host: g.host, port: grpcPort });
    const httpUrl = `${options.tls !== undefined ? 'https' : 'http'}://${formatHostPort({ host: h.host, port: addr.port })}`;
    log.info({ event: 'collector-listening', collectorId, grpc: grpcAddress, http: httpUrl, netSink }, 'collector listening');
    const server = httpServer;
    return {
      grpcPort,
      grpcAddress,
      httpPort: addr.port,
      httpUrl,
      store,
      netSink,
      collectorId,
      sweepLostRuns,
      async close() {
        clearInterval(sweeper);
        await sink?.close();
        await jobs.close();
        // Waiting agents were answered by jobs.close() and come back to the next collector;
        // a call still open after the grace period (a client that went silent) is cut, so
        // that a stop (systemctl restart) never waits on an agent.
        let forced = false;
        await new Promise<void>((resolve) => {
          const grace = setTimeout(() => {
            forced = true;
            grpcServer.forceShutdown();
            resolve();
          }, SHUTDOWN_GRACE_MS);
          grpcServer.tryShutdown(() => {
            clearTimeout(grace);
            resolve();
          });
        });
        log.info({ event: 'grpc-stopped', forced }, forced ? 'gRPC server stopped; open calls were cut' : 'gRPC server stopped; every call had ended');
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      },
    };
  } catch (err: unknown) {
    clearInterval(sweeper);
    await sink?.close();
    await jobs.close();
    grpcServer.forceShutdown();
    httpServer?.close();
    await store.close();
    throw err;
  }
}
