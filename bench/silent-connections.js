#!/usr/bin/env node
// bench:silent-connections — goal: 1,000 connections that never authenticate or go silent are
// all closed by the collector within a minute (its default limits), while a live agent that
// calls now and then, and one that long-polls for jobs, see no error.
// The collector runs as its own process with its defaults; the connections come from here.
'use strict';
const net = require('node:net');
const { credentials, Metadata } = require('@grpc/grpc-js');
const { AgentServiceClient } = require('@guestbench/proto');
const { startCollector, percentile, table } = require('./lib/collector-process');

const COUNT = Number(process.env.GUESTBENCH_SILENT_CONNECTIONS ?? 1000);
const GOAL_MS = 60_000;
/** The HTTP/2 client preface and an empty SETTINGS frame: a session, then silence. */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

function unary(client, method, req) {
  return new Promise((resolve, reject) => {
    client[method](req, new Metadata(), { deadline: new Date(Date.now() + 90_000) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function open(host, port, kind, t0) {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let settled = false;
    const done = (how) => {
      if (settled) return;
      settled = true;
      resolve({ kind, how, ms: Date.now() - t0 });
    };
    socket.on('error', () => undefined);
    // Read what the collector sends, or its close is never seen.
    socket.resume();
    socket.on('close', () => done('closed'));
    if (kind === 'grpc-preface') socket.on('connect', () => socket.write(PREFACE));
    // Give up (and count it as a failure) well after the goal.
    setTimeout(() => {
      done('still open');
      socket.destroy();
    }, GOAL_MS + 30_000).unref();
  });
}

async function main() {
  const c = await startCollector();
  const [host, grpcPort] = [c.grpc.split(':')[0], Number(c.grpc.split(':')[1])];
  const httpPort = Number(new URL(c.http).port);
  const live = new AgentServiceClient(c.grpc, credentials.createInsecure());
  const poller = new AgentServiceClient(c.grpc, credentials.createInsecure());
  try {
    await unary(live, 'enroll', { agentId: 'live', hostname: 'live', declaredPlatform: 'native', agentVersion: '0.1.0' });
    await unary(poller, 'enroll', { agentId: 'poller', hostname: 'poller', declaredPlatform: 'native', agentVersion: '0.1.0' });
    const t0 = Date.now();
    const kinds = ['grpc-silent', 'grpc-preface', 'http-silent'];
    const pending = Array.from({ length: COUNT }, (_, i) => open(host, i % 3 === 2 ? httpPort : grpcPort, kinds[i % 3], t0));
    // The live agents meanwhile: a heartbeat every 10 s, and back-to-back 25 s long polls.
    let liveCalls = 0;
    let liveErrors = 0;
    let stop = false;
    const heartbeats = (async () => {
      while (!stop) {
        await unary(live, 'heartbeat', { agentId: 'live', runId: '', currentBenchmark: '', takesJobs: false, guestMonotonicMs: 0 }).then(
          () => liveCalls++,
          () => liveErrors++,
        );
        await new Promise((r) => setTimeout(r, 10_000));
      }
    })();
    const polls = (async () => {
      while (!stop)
        await unary(poller, 'waitForJob', { agentId: 'poller', waitMs: 25_000 }).then(
          () => liveCalls++,
          () => liveErrors++,
        );
    })();
    const results = await Promise.all(pending);
    stop = true;
    await Promise.all([heartbeats, polls]);
    const rows = kinds.map((kind) => {
      const mine = results.filter((r) => r.kind === kind);
      const closed = mine
        .filter((r) => r.how === 'closed')
        .map((r) => r.ms)
        .sort((a, b) => a - b);
      return [
        kind,
        mine.length,
        closed.length,
        mine.length - closed.length,
        (percentile(closed, 50) / 1000).toFixed(1),
        ((closed.at(-1) ?? NaN) / 1000).toFixed(1),
      ];
    });
    console.log(`${COUNT} silent connections to a collector with its default limits (machine: ${require('node:os').cpus().length} CPUs, shared)`);
    console.log(table(['connection', 'opened', 'closed', 'still open', 'median s', 'last s'], rows));
    const worst = Math.max(...results.map((r) => (r.how === 'closed' ? r.ms : Infinity)));
    console.log(`\nlive agents: ${liveCalls} calls, ${liveErrors} errors`);
    const ok = worst <= GOAL_MS && liveErrors === 0;
    console.log(
      `goal: all closed within ${GOAL_MS / 1000} s, no live-agent error: ${ok ? 'met' : 'NOT met'} (last closed after ${(worst / 1000).toFixed(1)} s)`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    live.close();
    poller.close();
    await c.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
