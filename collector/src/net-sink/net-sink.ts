// The collector's sink/echo endpoint for the agents' net.* benchmarks, on its own TCP port
// beside gRPC, announced to agents at enrollment. The protocol and its one server are shared
// with `guestbench-agent serve-net` (proto/src/sink/); this adds the collector's logging.
import { startSinkServer, type SinkServer } from '@guestbench/proto';
import type { Logger } from '../log';

/** Starts the sink on `host:port` (port 0 picks a free one) and resolves once it listens. */
export async function startNetSink(host: string, port: number, logger: Logger): Promise<SinkServer> {
  const log = logger.child({ component: 'net-sink' });
  const onSlowReads = (): void => {
    log.warn({ event: 'net-sink-slow-reads' }, 'net sink: this Node cannot read into a reused buffer; net.tcp_stream may measure the sink');
  };
  const sink = await startSinkServer({ host, port }, { onSlowReads }).catch((err: unknown) => {
    throw new Error(`net sink: ${(err as Error).message}`, { cause: err });
  });
  log.info({ event: 'net-sink-listening', host, port: sink.address.port }, 'net sink listening');
  return sink;
}
