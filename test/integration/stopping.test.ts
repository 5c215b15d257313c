// Stopping as systemd does it (SIGTERM), with a daemon agent connected: neither side may
// wait on the other. The collector answers the agent's open job wait and stops without
// cutting a call; the agent cancels its wait, stops, and, when it is the collector that went,
// logs the change once and comes back to the next collector. (Times: bench/stop-time.js.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CLI, waitFor } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';

let dir: string;
const collectors: CollectorProcess[] = [];
const agents: { kill: (s: NodeJS.Signals) => void }[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-stop-'));
});

afterEach(async () => {
  for (const c of collectors.splice(0)) await c.kill('SIGKILL');
  for (const a of agents.splice(0)) a.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function startDaemon(
  grpcPort: number,
  agentId: string,
): { exit: Promise<number | null>; kill: (s: NodeJS.Signals) => void; events: () => Record<string, unknown>[] } {
  const child = spawn(
    process.execPath,
    [AGENT_CLI, 'daemon', '--collector', `127.0.0.1:${grpcPort}`, '--platform', 'native', '--agent-id', agentId, '--state-dir', path.join(dir, 'state')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const agent = {
    exit: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (s: NodeJS.Signals) => child.kill(s),
    events: () => err.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [])),
  };
  agents.push(agent);
  return agent;
}

test('SIGTERM to a collector with a waiting daemon agent: the wait is answered, no call is cut, and the agent comes back to the next collector', async () => {
  const db = path.join(dir, 'c.db');
  const port = await freePort();
  const first = await startCollectorProcess(db, port);
  collectors.push(first);
  const agent = startDaemon(port, 'stop-agent');
  await first.waitForEvent((e) => e['event'] === 'job-wait-started' && e['agentId'] === 'stop-agent');

  const exited = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
  first.child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(first.events.find((e) => e['event'] === 'job-wait-ended')).toMatchObject({ agentId: 'stop-agent', reason: 'collector stopping' });
  // tryShutdown finished on its own: every call had ended, none was cut by the grace timer.
  expect(first.events.find((e) => e['event'] === 'grpc-stopped')).toMatchObject({ forced: false });

  // The agent notices, says so once however often it retries, and returns when the collector does.
  await waitFor('the agent to notice', () => (agent.events().some((e) => e['event'] === 'collector-unreachable') ? true : undefined), 30_000);
  const second = await startCollectorProcess(db, port);
  collectors.push(second);
  await second.waitForEvent((e) => e['event'] === 'job-wait-started' && e['agentId'] === 'stop-agent', 60_000);
  await waitFor(
    'the agent to log that it waits again',
    () => (agent.events().filter((e) => e['event'] === 'collector-waiting').length === 2 ? true : undefined),
    10_000,
  );
  expect(agent.events().filter((e) => e['event'] === 'collector-unreachable')).toHaveLength(1);
  expect(agent.events().find((e) => e['event'] === 'collector-unreachable')?.['cause']).toMatch(/^connection refused: nothing listens on 127\.0\.0\.1:\d+/);
}, 120_000);

test('SIGTERM to a waiting daemon agent: it cancels its job wait and exits 0', async () => {
  const port = await freePort();
  const collector = await startCollectorProcess(path.join(dir, 'c.db'), port);
  collectors.push(collector);
  const agent = startDaemon(port, 'stop-agent-2');
  await collector.waitForEvent((e) => e['event'] === 'job-wait-started' && e['agentId'] === 'stop-agent-2');
  agent.kill('SIGTERM');
  expect(await agent.exit).toBe(0);
  // The agent ended its call itself (the collector saw the cancel) instead of leaving it open.
  await collector.waitForEvent((e) => e['event'] === 'job-wait-cancelled' && e['agentId'] === 'stop-agent-2', 10_000);
  expect(agent.events().map((e) => e['event'])).toContain('daemon-stopped');
}, 60_000);
