// net.tcp_crr: connect, a one-byte request, a one-byte answer, close; a new connection for
// every transaction (netperf TCP_CRR). Connection set-up and tear-down are where
// virtual NICs, connection tracking and the host's firewall show.
import { performance } from 'node:perf_hooks';
import { oneShot } from '../../net/sink-client';
import { LatencyRecorder } from '../disk/latency-recorder';
import { latencyPercentiles, type BenchmarkDefinition, type PreparedBenchmark } from '../types';
import { acquireSink, rejectUnknown, takeSeconds } from './sink-target';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const TCP_CRR_ID = 'net.tcp_crr';

export interface TcpCrrSettings {
  /** Seconds per trial; undefined means the profile's trialSeconds. */
  readonly seconds: number | undefined;
}

export const netTcpCrr: BenchmarkDefinition<TcpCrrSettings> = {
  id: TCP_CRR_ID,
  description: 'connect + 1-byte request/response + close, one connection per transaction: connections/s',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'rate', unit: 'conn/s', direction: 'higher', primary: true }, ...latencyPercentiles('µs')],
  parseSettings(raw) {
    const { seconds, rest } = takeSeconds(TCP_CRR_ID, raw);
    rejectUnknown(TCP_CRR_ID, rest, ['seconds']);
    return { seconds };
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const sink = await acquireSink(context);
    const seconds = settings.seconds ?? context.profile.trialSeconds;
    const latencies = new LatencyRecorder();
    return {
      parameters: { requestBytes: '1', responseBytes: '1', closes: 'server-first', sink: sink.kind },
      async trial() {
        latencies.reset();
        const start = performance.now();
        const endAt = start + seconds * 1000;
        let t = start;
        let ops = 0;
        while (t < endAt) {
          context.signal.throwIfAborted();
          const before = t;
          await oneShot(sink.address);
          t = performance.now();
          latencies.add((t - before) * 1000);
          ops++;
        }
        const [p50, p99] = latencies.percentiles([50, 99]) as [number, number];
        return { rate: ops / ((t - start) / 1000), p50, p99 };
      },
      dispose: () => sink.release(),
    };
  },
};
