// The sink address an agent dials, from what the collector announced at enrollment.
import { formatHostPort, isUnspecifiedHost, parseHostPort } from './address';

/**
 * The collector announces the address its sink listens on. An unspecified host there
 * (0.0.0.0, ::) means "wherever you reached me": the agent dials the host it used for gRPC,
 * with the announced port. Undefined when nothing was announced; an announcement that is not
 * HOST:PORT is passed on as it is, so the benchmark names it in its error.
 */
export function resolveAnnouncedSink(announced: string | undefined, collectorAddress: string): string | undefined {
  if (announced === undefined || announced === '') return undefined;
  const sink = parseHostPort(announced);
  if (sink === undefined || !isUnspecifiedHost(sink.host)) return sink === undefined ? announced : formatHostPort(sink);
  const collector = parseHostPort(collectorAddress);
  return collector === undefined ? announced : formatHostPort({ host: collector.host, port: sink.port });
}
