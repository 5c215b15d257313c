// net.tcp_stream: bulk TCP to the sink for a while, over one or more connections, with the
// first seconds of each trial sent but not counted (TCP slow start and buffer auto-tuning),
// as `iperf3 -O` does. Mbit/s of data the sink confirmed.
import { randomFillSync } from 'node:crypto';
import { streamToSink } from '../../net/sink-client';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { acquireSink, takeSeconds } from './sink-target';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const TCP_STREAM_ID = 'net.tcp_stream';

export interface TcpStreamSettings {
  /** Parallel connections, as iperf3 -P. @default 1 */
  readonly streams: number;
  /** Bytes per write, as iperf3 -l. @default 128 */
  readonly blockKiB: number;
  /** Seconds sent but not counted at the start of each trial, as iperf3 -O. @default 0.5 */
  readonly omitSeconds: number;
  /** Seconds counted per trial; undefined means the profile's trialSeconds. */
  readonly seconds: number | undefined;
}

export const netTcpStream: BenchmarkDefinition<TcpStreamSettings> = {
  id: TCP_STREAM_ID,
  description: 'bulk TCP to the network sink, first seconds omitted (iperf3 -O), optional parallel streams',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mbit/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    const { seconds, rest } = takeSeconds(TCP_STREAM_ID, raw);
    const parsed = parseNumberSettings(TCP_STREAM_ID, rest, {
      streams: { default: 1, min: 1, max: 128, integer: true },
      blockKiB: { default: 128, min: 1, max: 16384, integer: true },
      omitSeconds: { default: 0.5, min: 0, max: 600 },
    });
    return { ...parsed, seconds };
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const sink = await acquireSink(context);
    const block = Buffer.allocUnsafeSlow(settings.blockKiB * 1024);
    randomFillSync(block);
    const seconds = settings.seconds ?? context.profile.trialSeconds;
    return {
      parameters: { streams: String(settings.streams), blockKiB: String(settings.blockKiB), sink: sink.kind },
      async trial() {
        const r = await streamToSink(sink.address, { streams: settings.streams, block, omitSeconds: settings.omitSeconds, seconds, signal: context.signal });
        return { throughput: (r.bytes * 8) / r.seconds / 1e6 };
      },
      dispose: () => sink.release(),
    };
  },
};
