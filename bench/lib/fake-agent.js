// A protocol-level agent for load benchmarks: enrolls, starts a run, submits samples in
// per-benchmark batches, ends the run, timing every acknowledgement. It sends what the real
// agent sends, without measuring anything.
'use strict';
const { credentials, Metadata } = require('@grpc/grpc-js');
const { AgentServiceClient, Direction, RunStatus } = require('@guestbench/proto');

function unary(client, method, req) {
  return new Promise((resolve, reject) => {
    client[method](req, new Metadata(), { deadline: new Date(Date.now() + 60_000) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function sample(runId, benchmark, metric, i) {
  const trials = [100 + (i % 7), 101 + (i % 5), 99 + (i % 3), 100.5, 99.5];
  return {
    id: `${runId}:${benchmark}:${metric}`,
    benchmarkId: benchmark,
    metric,
    unit: 'ops/s',
    direction: Direction.DIRECTION_HIGHER_IS_BETTER,
    value: trials.reduce((a, b) => a + b, 0) / trials.length,
    trials,
    trialCount: trials.length,
    rsd: 0.01,
    stealFraction: 0,
    parameters: { size: '64' },
    primary: metric === 'm0',
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: Date.now(),
    flags: [],
  };
}

/**
 * Runs `runs` runs of `benchmarks` × `metricsPerBenchmark` samples, one SubmitSamples per
 * benchmark, like the real agent. Pushes each acknowledgement latency (ms) to `latencies`.
 */
/** The Enroll request of a simulated agent: a fixed, small inventory. */
function enrollRequest(agentId, platform) {
  return {
    agentId,
    hostname: agentId,
    declaredPlatform: platform,
    agentVersion: '0.1.0',
    detected: { platform, evidence: [] },
    inventory: {
      hostname: agentId,
      cpuModel: 'bench',
      cpus: 2,
      memoryBytes: 1,
      kernel: 'k',
      os: 'o',
      arch: 'x64',
      clocksource: 'tsc',
      cpuFlags: '',
      systemVendor: '',
      systemModel: '',
      nodeVersion: process.version,
    },
  };
}

async function fakeAgent({ address, agentId, platform, label, runs, benchmarks, metricsPerBenchmark, latencies, resend = false }) {
  const client = new AgentServiceClient(address, credentials.createInsecure());
  let acked = 0;
  const runIds = [];
  try {
    await unary(client, 'enroll', enrollRequest(agentId, platform));
    for (let r = 0; r < runs; r++) {
      const runId = `${agentId}-run${r}`;
      runIds.push(runId);
      await unary(client, 'startRun', { runId, agentId, profile: 'bench', label, agentVersion: '0.1.0', startedAtMs: Date.now(), jobId: '' });
      for (let b = 0; b < benchmarks; b++) {
        const samples = Array.from({ length: metricsPerBenchmark }, (_, m) => sample(runId, `cpu.b${b}`, `m${m}`, r + b + m));
        const t0 = process.hrtime.bigint();
        const res = await unary(client, 'submitSamples', { runId, samples });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        acked += res.ackedSampleIds.length;
        if (resend && b % 4 === 0) await unary(client, 'submitSamples', { runId, samples }); // a retry after a lost ack
      }
      await unary(client, 'endRun', {
        runId,
        status: RunStatus.RUN_STATUS_COMPLETED,
        error: '',
        sampleCount: benchmarks * metricsPerBenchmark,
        endedAtMs: Date.now(),
        failedBenchmarks: [],
      });
    }
  } finally {
    client.close();
  }
  return { acked, runIds };
}

module.exports = { enrollRequest, fakeAgent, sample, unary };
