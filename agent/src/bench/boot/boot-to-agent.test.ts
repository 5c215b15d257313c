import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootToAgentOutcome, readUptimeSeconds } from './boot-to-agent';

test('reads the first field of /proc/uptime', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-uptime-'));
  fs.mkdirSync(path.join(root, 'proc'));
  fs.writeFileSync(path.join(root, 'proc/uptime'), '23.47 41.02\n');
  expect(readUptimeSeconds(root)).toBe(23.47);
  expect(readUptimeSeconds(path.join(root, 'nowhere'))).toBeUndefined();
  fs.rmSync(root, { recursive: true, force: true });
  expect(readUptimeSeconds()).toBeGreaterThan(0); // the live machine
});

test('a run soon after boot carries boot.to_agent in seconds, lower is better; a later one does not', () => {
  const outcome = bootToAgentOutcome(23.5, 40, 'tsc');
  expect(outcome).toMatchObject({ ok: true, benchmarkId: 'boot.to_agent' });
  expect(outcome?.ok && outcome.samples[0]).toMatchObject({ metric: 'seconds', unit: 's', direction: 'lower', value: 23.5, trials: [23.5], primary: true });
  expect(bootToAgentOutcome(23.5, 4000, 'tsc')).toBeUndefined();
  expect(bootToAgentOutcome(undefined, 40, 'tsc')).toBeUndefined();
});
