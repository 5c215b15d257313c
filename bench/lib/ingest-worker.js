// One load-generator process for bench/ingest-rate.js: enrolls its agents, starts one run
// each, encodes every SubmitSamples request up front, then, on "go" from its parent, sends
// them over several gRPC channels (each agent one call at a time, as the real agent does)
// with serialization switched off, so that the generator spends as little CPU per call as a
// grpc-js client can. Sends {calls, acked, latencies, cpuSeconds} when done.
'use strict';
const { credentials, Client, Metadata } = require('@grpc/grpc-js');
const { AgentServiceClient, SubmitSamplesRequest, SubmitSamplesResponse } = require('@guestbench/proto');
const { enrollRequest, sample, unary } = require('./fake-agent');

(async () => {
  const job = JSON.parse(process.argv[2]);
  const { address, agentIds, callsPerAgent, samplesPerCall, channels, tag } = job;
  // Distinct channel options force distinct TCP connections.
  const raw = Array.from(
    { length: channels },
    (_, i) => new Client(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'bench.channel': `${tag}-${i}` }),
  );
  const setup = new AgentServiceClient(address, credentials.createInsecure());
  const agents = [];
  for (const agentId of agentIds) {
    await unary(setup, 'enroll', enrollRequest(agentId, 'kvm'));
    const runId = `${agentId}-run`;
    await unary(setup, 'startRun', { runId, agentId, profile: 'bench', label: '', agentVersion: '0.1.0', startedAtMs: Date.now(), jobId: '' });
    const requests = Array.from({ length: callsPerAgent }, (_, c) =>
      Buffer.from(
        SubmitSamplesRequest.encode({ runId, samples: Array.from({ length: samplesPerCall }, (_, m) => sample(runId, `cpu.b${c}`, `m${m}`, c + m)) }).finish(),
      ),
    );
    agents.push({ requests });
  }
  setup.close();
  process.send({ ready: true });
  await new Promise((resolve) => process.once('message', resolve));
  const cpu0 = process.cpuUsage();
  const latencies = [];
  let acked = 0;
  let calls = 0;
  const identity = (b) => b;
  const send = (client, body) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        '/guestbench.v1.AgentService/SubmitSamples',
        identity,
        identity,
        body,
        new Metadata(),
        { deadline: Date.now() + 120_000 },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  await Promise.all(
    agents.map(async (a, i) => {
      const client = raw[i % raw.length];
      for (const body of a.requests) {
        const t0 = process.hrtime.bigint();
        const res = await send(client, body);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        calls++;
        acked += SubmitSamplesResponse.decode(res).ackedSampleIds.length;
      }
    }),
  );
  for (const c of raw) c.close();
  const cpu = process.cpuUsage(cpu0);
  process.send({ calls, acked, latencies, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, () => process.disconnect());
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
