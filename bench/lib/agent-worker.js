// A child process running some of the benchmark's fake agents, so the load generator is not
// limited to one JavaScript thread. Reads its share from argv (JSON), prints its results.
'use strict';
const { fakeAgent } = require('./fake-agent');

(async () => {
  const job = JSON.parse(process.argv[2]);
  const latencies = [];
  const results = await Promise.all(
    job.agentIds.map((agentId, i) => fakeAgent({ ...job.agent, agentId, platform: ['kvm', 'xen', 'vmware', 'native'][i % 4], latencies })),
  );
  process.stdout.write(JSON.stringify({ acked: results.reduce((n, r) => n + r.acked, 0), latencies }));
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
