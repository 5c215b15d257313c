// Which sink a network benchmark talks to: the one it was given (the collector's, a
// serve-net elsewhere, or the local child of `bench`), checked before any trial; else a sink
// inside this process, which is recorded because it shares the sender's thread.
import { parseHostPort, startSinkServer, type HostPort } from '@guestbench/proto';
import { checkSink, NetSinkError } from '../../net/sink-client';
import { ProfileError } from '../../profiles/profile';
import type { BenchContext } from '../types';

export interface SinkTarget {
  readonly address: HostPort;
  /** Recorded as the `sink` parameter. */
  readonly kind: 'external' | 'in-process';
  release(): Promise<void>;
}

export async function acquireSink(context: BenchContext): Promise<SinkTarget> {
  const given = context.targets?.netSink;
  if (given !== undefined) {
    const address = parseHostPort(given);
    if (!address.ok) throw new NetSinkError(`network sink "${given}" is not HOST:PORT`);
    await checkSink(address.value);
    return { address: address.value, kind: 'external', release: async () => undefined };
  }
  const server = await startSinkServer({ host: '127.0.0.1', port: 0 });
  return { address: server.address, kind: 'in-process', release: () => server.close() };
}

/** Parses the optional `seconds` (trial length) beside a benchmark's other number settings. */
export function takeSeconds(benchmarkId: string, raw: Readonly<Record<string, unknown>>): { seconds: number | undefined; rest: Record<string, unknown> } {
  const { seconds, ...rest } = raw;
  if (seconds !== undefined && (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0.01 || seconds > 3600)) {
    throw new ProfileError(`${benchmarkId}: setting "seconds" must be a number from 0.01 to 3600, got ${JSON.stringify(seconds)}`);
  }
  return { seconds: seconds as number | undefined, rest };
}

/** Throws a ProfileError for the first key of `rest`, which no setting of the benchmark takes. */
export function rejectUnknown(benchmarkId: string, rest: Readonly<Record<string, unknown>>, known: readonly string[]): void {
  for (const key of Object.keys(rest)) throw new ProfileError(`${benchmarkId}: unknown setting "${key}" (known: ${known.join(', ')})`);
}
