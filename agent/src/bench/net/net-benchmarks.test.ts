// The net.* benchmarks under the real runner, against a sink on loopback: what they measure
// and record, and what happens when the sink is not there.
import { resolveAnnouncedSink } from '../../net/announced-sink';
import { formatHostPort, startSinkServer, type SinkServer } from '@guestbench/proto';
import { parseProfile } from '../../profiles/profile';
import { BENCHMARK_IDS } from '../registry';
import { runSuite, type BenchmarkOutcome } from '../runner';

const NET_IDS = ['net.tcp_stream', 'net.tcp_rr', 'net.tcp_crr'];

const profile = parseProfile(
  'net-test',
  {
    warmupSeconds: 0.01,
    trialSeconds: 0.05,
    minTrials: 3,
    maxTrials: 3,
    rsdThreshold: 0.5,
    budgetSeconds: 1,
    benchmarks: NET_IDS,
    settings: { 'net.tcp_stream': { omitSeconds: 0.02, seconds: 0.05, streams: 2 } },
  },
  BENCHMARK_IDS,
);

let sink: SinkServer;
beforeAll(async () => {
  sink = await startSinkServer({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await sink.close();
});

function samplesOf(outcomes: readonly BenchmarkOutcome[]) {
  return outcomes.flatMap((o) => (o.ok ? o.samples : []));
}

test('against a given sink: every metric measured, the parameters say what was run', async () => {
  const outcomes = await runSuite({ profile, targets: { netSink: formatHostPort(sink.address) } });
  expect(outcomes.map((o) => [o.benchmarkId, o.ok])).toEqual(NET_IDS.map((id) => [id, true]));
  const samples = samplesOf(outcomes);
  const byKey = new Map(samples.map((s) => [`${s.benchmarkId}/${s.metric}`, s]));
  expect([...byKey.keys()].sort()).toEqual(
    ['net.tcp_crr/p50', 'net.tcp_crr/p99', 'net.tcp_crr/rate', 'net.tcp_rr/p50', 'net.tcp_rr/p99', 'net.tcp_rr/rate', 'net.tcp_stream/throughput'].sort(),
  );
  for (const s of samples) {
    expect(s.value).toBeGreaterThan(0);
    expect(s.parameters['sink']).toBe('external');
  }
  expect(byKey.get('net.tcp_stream/throughput')!.parameters).toMatchObject({ streams: '2', blockKiB: '128' });
  for (const id of ['net.tcp_rr', 'net.tcp_crr']) {
    expect(byKey.get(`${id}/p99`)!.value).toBeGreaterThanOrEqual(byKey.get(`${id}/p50`)!.value);
  }
});

test('an unreachable sink: each benchmark fails with a message naming it, and there is no sample', async () => {
  const gone = await startSinkServer({ host: '127.0.0.1', port: 0 });
  await gone.close();
  const address = formatHostPort(gone.address);
  const outcomes = await runSuite({ profile, targets: { netSink: address } });
  expect(samplesOf(outcomes)).toEqual([]);
  for (const o of outcomes) {
    expect(o.ok).toBe(false);
    if (!o.ok) expect(o.error.message).toBe(`cannot reach the network sink at ${address}: ECONNREFUSED`);
  }
});

test('a sink address that is not HOST:PORT is refused before any connection', async () => {
  const outcomes = await runSuite({ profile, targets: { netSink: 'collector.example' } });
  expect(samplesOf(outcomes)).toEqual([]);
  expect(outcomes.map((o) => (o.ok ? '' : o.error.message))).toEqual(NET_IDS.map(() => 'network sink "collector.example" is not HOST:PORT'));
});

test('without a sink, one runs inside the process, and the samples say so', async () => {
  const samples = samplesOf(await runSuite({ profile: { ...profile, benchmarks: ['net.tcp_rr'] } }));
  expect(samples.length).toBe(3);
  for (const s of samples) expect(s.parameters['sink']).toBe('in-process');
});

test('an announced sink on every interface is dialled at the host the agent reached the collector on', () => {
  expect(resolveAnnouncedSink('0.0.0.0:7208', 'collector.lan:50051')).toBe('collector.lan:7208');
  expect(resolveAnnouncedSink('[::]:7208', '192.0.2.1:50051')).toBe('192.0.2.1:7208');
  // a guest behind QEMU's user network reached the collector at 10.0.2.2; its loopback sink is there too
  expect(resolveAnnouncedSink('127.0.0.1:7208', '10.0.2.2:50051')).toBe('10.0.2.2:7208');
  expect(resolveAnnouncedSink('127.0.0.1:7208', '127.0.0.1:50051')).toBe('127.0.0.1:7208');
  expect(resolveAnnouncedSink('[::]:7208', '[2001:db8::1]:50051')).toBe('[2001:db8::1]:7208');
  expect(resolveAnnouncedSink('10.0.0.5:7208', 'collector.lan:50051')).toBe('10.0.0.5:7208');
  expect(resolveAnnouncedSink(undefined, 'collector.lan:50051')).toBeUndefined();
  expect(resolveAnnouncedSink('', 'collector.lan:50051')).toBeUndefined();
});
