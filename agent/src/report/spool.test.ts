import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Direction, RunStatus, type Sample } from '@guestbench/proto';
import { Spool } from './spool';

function sample(id: string): Sample {
  return {
    id,
    benchmarkId: 'cpu.int32',
    metric: 'throughput',
    unit: 'Mops/s',
    direction: Direction.DIRECTION_HIGHER_IS_BETTER,
    value: 1.5,
    trials: [1, 2],
    trialCount: 2,
    rsd: 0.1,
    stealFraction: 0,
    parameters: { size: '1' },
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: 5,
    flags: [],
  };
}

const enroll = { agentId: 'a1', hostname: 'h', declaredPlatform: '', agentVersion: '0.1.0', detected: undefined, inventory: undefined };
const start = { runId: 'r1', agentId: 'a1', profile: 'smoke', label: '', agentVersion: '0.1.0', startedAtMs: 1, jobId: '' };

test('samples stay spooled, exactly as sent, until acknowledged; the run leaves when delivered', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-spool-'));
  try {
    const spool = new Spool(dir);
    const run = spool.begin(enroll, start);
    run.add([sample('r1:a'), sample('r1:b')]);
    run.add([sample('r1:a')]); // a second add of the same id is a no-op
    expect(run.pending()).toEqual([sample('r1:a'), sample('r1:b')]);
    run.acknowledge(['r1:a']);
    expect(run.pending().map((s) => s.id)).toEqual(['r1:b']);
    // a new Spool object (a restarted agent) sees the same state
    const again = new Spool(dir).runs();
    expect(again.map((r) => r.runId)).toEqual(['r1']);
    expect(again[0]!.state()).toMatchObject({ agentId: 'a1', pid: process.pid, start, end: undefined, enroll: { agentId: 'a1' } });
    again[0]!.markEnded({ runId: 'r1', status: RunStatus.RUN_STATUS_COMPLETED, error: '', sampleCount: 2, endedAtMs: 9, failedBenchmarks: [] });
    expect(run.state().end?.status).toBe(RunStatus.RUN_STATUS_COMPLETED);
    expect(run.ownedByOtherProcess()).toBe(false);
    run.remove();
    expect(spool.runs()).toEqual([]);
    // no temporary files are left behind by the durable writes
    expect(fs.readdirSync(spool.dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
