// The sink address an agent dials, from what the collector announced at enrollment.
import { formatHostPort, isUnspecifiedHost, parseHostPort } from '@guestbench/proto';

function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === 'localhost';
}

/**
 * The collector announces the address its sink listens on. An unspecified host there
 * (0.0.0.0, ::) means "wherever you reached me": the agent dials the host it used for gRPC,
 * with the announced port. Undefined when nothing was announced; an announcement that is not
 * HOST:PORT is passed on as it is, so the benchmark names it in its error.
 */
export function resolveAnnouncedSink(announced: string | undefined, collectorAddress: string): string | undefined {
  if (announced === undefined || announced === '') return undefined;
  const announcedSink = parseHostPort(announced);
  if (!announcedSink.ok) return announced;
  const sink = announcedSink.value;
  const reached = parseHostPort(collectorAddress);
  if (!reached.ok) return formatHostPort(sink);
  const collector = reached.value;
  // A loopback sink announced to an agent that reached the collector at another address
  // (a guest behind QEMU's user network dials 10.0.2.2 for the host's 127.0.0.1) is on the
  // collector's side of that path: dial the same host, the sink's port.
  const reroute = isUnspecifiedHost(sink.host) || (isLoopbackHost(sink.host) && !isLoopbackHost(collector.host));
  return formatHostPort(reroute ? { host: collector.host, port: sink.port } : sink);
}
