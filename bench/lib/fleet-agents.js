// One of bench/fleet.js's simulated-agent processes: its share of the fleet's light-weight
// agents (a gRPC channel each), so that no one Node process holds so many channels that it
// cannot answer the collectors' HTTP/2 keepalive pings in time. Talks to its parent over IPC.
'use strict';
const { credentials, Metadata, status: GrpcStatus } = require('@grpc/grpc-js');
const { AgentServiceClient, RunStatus } = require('@guestbench/proto');
const { enrollRequest, sample } = require('./fake-agent');

const SAMPLES_PER_CALL = 2;
const CALLS_PER_RUN = 2;
const FAILOVER = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.CANCELLED]);

/** A counting semaphore, so that N agents do not put N calls on the wire at once. */
function limiter(max) {
  let active = 0;
  const queue = [];
  return async function run(fn) {
    if (active >= max) await new Promise((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

function rawCall(client, method, req, deadlineMs) {
  return new Promise((resolve, reject) => {
    client[method](req, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** One simulated agent: a channel to each collector address, made when first needed; sticks to one until it fails. */
class LightAgent {
  constructor(id, platform, addresses, first, stats) {
    this.id = id;
    this.platform = platform;
    this.addresses = addresses;
    this.current = first;
    this.stats = stats;
    this.clients = new Map();
  }

  client() {
    const address = this.addresses[this.current];
    let c = this.clients.get(address);
    if (c === undefined) {
      // A channel of its own, as a real agent in its own guest has.
      c = new AgentServiceClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.clients.set(address, c);
    }
    return c;
  }

  /** A call with failover to the other collector, as the real agent's client does. */
  async call(method, req, deadlineMs = 30_000) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await rawCall(this.client(), method, req, deadlineMs);
      } catch (err) {
        if (!FAILOVER.has(err.code) || attempt >= 40) throw err;
        this.current = (this.current + 1) % this.addresses.length;
        this.stats.failovers++;
        const why = `${method} ${GrpcStatus[err.code]}: ${String(err.details).slice(0, 60)}`;
        this.stats.why.set(why, (this.stats.why.get(why) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 1000)));
      }
    }
  }

  close() {
    for (const c of this.clients.values()) c.close();
  }
}

/**
 * The work of this process, from argv[2] (JSON): agent indexes [from, to) of the fleet's
 * `total`, the collector addresses, the calls in flight allowed here, and the ramp: agent i
 * starts (enrolls, then waits for a job, as `guestbench-agent daemon` does) at i/total of it.
 */
const work = JSON.parse(process.argv[2]);
const stats = { failovers: 0, why: new Map() };
const limit = limiter(work.inFlight);
const agents = [];
for (let i = work.from; i < work.to; i++) {
  const side = i % 2; // 0: on A, platform kvm; 1: on B, platform xen
  agents.push({ index: i, agent: new LightAgent(`fleet-${String(i).padStart(5, '0')}`, side === 0 ? 'kvm' : 'xen', work.addresses, side, stats) });
}
let enrolled = 0;
let runsDone = 0;
let ackedIds = 0;
const enrollFailures = [];
const runFailures = [];
const ackMs = [];
/** [platform of the job, Date.now() when this agent had it]: the parent knows when each job was sent. */
const jobsReceived = [];
const t0 = Date.now();

async function life({ index, agent: a }) {
  const startAt = t0 + (work.rampMs * index) / work.total;
  if (startAt > Date.now()) await new Promise((r) => setTimeout(r, startAt - Date.now()));
  try {
    await limit(() => a.call('enroll', enrollRequest(a.id, a.platform)));
    enrolled++;
  } catch (err) {
    enrollFailures.push(`${a.id}: ${err.message}`);
    return;
  }
  let job;
  while (job === undefined) {
    const res = await a.call('waitForJob', { agentId: a.id, waitMs: 55_000 }, 70_000);
    job = res.job;
  }
  jobsReceived.push([job.platform, Date.now()]);
  const runId = `${a.id}-run`;
  // A run holds its slot from start to end, one call at a time, as an agent in its guest
  // does: with a slot per call instead, every started run waited behind every other agent's
  // calls, fell silent past the collector's 30 s and was marked lost before it ended.
  await limit(async () => {
    await a.call('startRun', { runId, agentId: a.id, profile: 'smoke', label: 'fleet', agentVersion: '0.1.0', startedAtMs: Date.now(), jobId: job.id });
    await a.call('heartbeat', { agentId: a.id, runId, currentBenchmark: 'cpu.b0', takesJobs: true, guestMonotonicMs: 0 });
    for (let b = 0; b < CALLS_PER_RUN; b++) {
      const samples = Array.from({ length: SAMPLES_PER_CALL }, (_, m) => sample(runId, `cpu.b${b}`, `m${m}`, b + m));
      const s = process.hrtime.bigint();
      const res = await a.call('submitSamples', { runId, samples });
      ackMs.push(Number(process.hrtime.bigint() - s) / 1e6);
      ackedIds += res.ackedSampleIds.length;
    }
    await a.call('endRun', {
      runId,
      status: RunStatus.RUN_STATUS_COMPLETED,
      error: '',
      sampleCount: CALLS_PER_RUN * SAMPLES_PER_CALL,
      endedAtMs: Date.now(),
      failedBenchmarks: [],
    });
  });
  runsDone++;
  // Promptly, so that the parent kills a collector when half of the runs are done, not later.
  if (Date.now() - lastSent >= 10) send();
}

const progress = () => ({
  type: 'progress',
  enrolled,
  enrollFailed: enrollFailures.length,
  runsDone,
  runsFailed: runFailures.length,
  failovers: stats.failovers,
});
let lastSent = 0;
const send = () => {
  lastSent = Date.now();
  process.send(progress());
};
const ticker = setInterval(send, 250);

let reported = false;
function report() {
  if (reported) return;
  reported = true;
  clearInterval(ticker);
  const cpu = process.cpuUsage();
  process.send(
    {
      ...progress(),
      type: 'done',
      ackedIds,
      ackMs,
      jobsReceived,
      enrollFailures: enrollFailures.slice(0, 5),
      runFailures: runFailures.slice(0, 5),
      stragglers: agents.length - runsDone - runFailures.length - enrollFailures.length,
      why: [...stats.why],
      cpu: (cpu.user + cpu.system) / 1e6,
      peakMiB: process.resourceUsage().maxRSS / 1024,
    },
    () => {
      for (const { agent } of agents) agent.close();
      process.disconnect();
    },
  );
}

// The parent may ask for the results before every run is done (its watchdog).
process.on('message', (m) => {
  if (m.type === 'report-now') report();
});
Promise.all(agents.map((a) => life(a).catch((err) => runFailures.push(`${a.agent.id}: ${err.message}`)))).then(report);
