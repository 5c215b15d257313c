// net.tcp_rr: a one-byte request and a one-byte answer, again and again, on one connection
// (netperf TCP_RR). Round trips per second and their latency p50/p99: the cost of the
// network path's wake-ups, which virtual NICs and interrupt delivery add to.
import { EchoConnection } from '../../net/sink-client';
import { LatencyRecorder } from '../disk/latency-recorder';
import { latencyPercentiles, type BenchmarkDefinition, type PreparedBenchmark } from '../types';
import { acquireSink, rejectUnknown, takeSeconds } from './sink-target';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const TCP_RR_ID = 'net.tcp_rr';

export interface TcpRrSettings {
  /** Seconds per trial; undefined means the profile's trialSeconds. */
  readonly seconds: number | undefined;
}

export const netTcpRr: BenchmarkDefinition<TcpRrSettings> = {
  id: TCP_RR_ID,
  description: '1-byte request/response on one TCP connection: round trips/s, latency p50/p99',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'rate', unit: 'round trips/s', direction: 'higher', primary: true }, ...latencyPercentiles('µs')],
  parseSettings(raw) {
    const { seconds, rest } = takeSeconds(TCP_RR_ID, raw);
    rejectUnknown(TCP_RR_ID, rest, ['seconds']);
    return { seconds };
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const sink = await acquireSink(context);
    let connection: EchoConnection | undefined;
    try {
      connection = await EchoConnection.open(sink.address);
    } catch (err: unknown) {
      await sink.release();
      throw err;
    }
    const echo = connection;
    const seconds = settings.seconds ?? context.profile.trialSeconds;
    const latencies = new LatencyRecorder();
    const record = (us: number): void => latencies.add(us);
    return {
      parameters: { requestBytes: '1', responseBytes: '1', sink: sink.kind },
      async trial() {
        latencies.reset();
        const r = await echo.roundTrips(seconds, record, context.signal);
        const [p50, p99] = latencies.percentiles([50, 99]) as [number, number];
        return { rate: r.ops / r.seconds, p50, p99 };
      },
      async dispose() {
        echo.close();
        await sink.release();
      },
    };
  },
};
