// The floor under bench/ingest-rate.js: a grpc-js server of the same AgentService that
// decodes each request and answers at once, touching no database, checking nothing. What it
// costs per call is what grpc-js and protobuf cost; the collector can never be cheaper.
// Prints {"port": N} when listening; stops on SIGTERM.
'use strict';
const { Server, ServerCredentials } = require('@grpc/grpc-js');
const { AgentServiceService } = require('@guestbench/proto');

const server = new Server();
const answer = (res) => (call, callback) => callback(null, res(call.request));
server.addService(AgentServiceService, {
  enroll: answer((req) => ({ agentId: req.agentId, collectorVersion: 'floor', heartbeatIntervalMs: 5000 })),
  startRun: answer((req) => ({ runId: req.runId })),
  submitSamples: answer((req) => ({ ackedSampleIds: req.samples.map((s) => s.id) })),
  endRun: answer(() => ({ status: 0, storedSampleCount: 0 })),
  heartbeat: answer(() => ({})),
  sendLogs: answer(() => ({ stored: 0 })),
  waitForJob: answer(() => ({})),
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once('SIGTERM', () => server.forceShutdown());
