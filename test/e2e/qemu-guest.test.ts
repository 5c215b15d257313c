// End to end: the guest image with the agent baked in boots under QEMU (KVM when usable,
// else TCG), reads its collector and token from SMBIOS, detects its platform, runs the smoke
// profile and reports; a native run on this host is the baseline. The comparison must show
// the guest's group with its inventory, boot.to_agent, and CPU below native under emulation.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generateToken, type CompareResult } from '@guestbench/collector';
import { AGENT_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';

const REPO = path.resolve(__dirname, '..', '..');
const CI = process.env['CI'] === 'true';

function sh(file: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code =
        err === null ? 0 : typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

let h: Harness;
let skipReason: string | undefined;
let guest: { code: number; stdout: string; stderr: string };
let serialLog: string;
const timings: Record<string, number> = {};
/** The kernel the image was built with, from its manifest (build-image.sh --json). */
let imageKernel = '';

beforeAll(async () => {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ensure = await sh(path.join(REPO, 'deploy/scripts/ensure-packages.sh'), isRoot ? [] : ['--check'], 15 * 60_000);
  if (ensure.code !== 0) {
    skipReason = `QEMU/debootstrap are not installed and cannot be installed here: ${ensure.stderr.trim() || ensure.stdout.trim()}`;
    if (CI) throw new Error(skipReason);
    console.warn(`\n*** SKIPPING the QEMU end-to-end test: ${skipReason}\n`);
    return;
  }
  let t = Date.now();
  const build = await sh(path.join(REPO, 'deploy/image/build-image.sh'), ['--json'], 30 * 60_000);
  timings['image build'] = (Date.now() - t) / 1000;
  if (build.code !== 0) throw new Error(`image build failed (${build.code}):\n${build.stderr.slice(-4000)}`);
  imageKernel = (JSON.parse(build.stdout) as { kernelVersion: string }).kernelVersion;

  h = await startHarness({ auth: 'tokens' });
  const native = generateToken({ name: 'host', kind: 'agent', platform: 'native', expiresAtMs: undefined, nowMs: Date.now() });
  const guestToken = generateToken({ name: 'guest', kind: 'agent', platform: '', expiresAtMs: undefined, nowMs: Date.now() });
  await h.collector.store.createToken(native.record);
  await h.collector.store.createToken(guestToken.record);
  const operator = generateToken({ name: 'runner', kind: 'operator', platform: '', expiresAtMs: undefined, nowMs: Date.now() });
  await h.collector.store.createToken(operator.record);

  t = Date.now();
  const base = await runCli(AGENT_CLI, ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--state-dir', path.join(h.dir, 'native-state')], {
    GUESTBENCH_TOKEN: native.token,
  });
  timings['native smoke run'] = (Date.now() - t) / 1000;
  if (base.code !== 0) throw new Error(`native run failed:\n${base.stderr.slice(-3000)}`);

  serialLog = path.join(h.dir, 'guest.serial.log');
  t = Date.now();
  guest = await sh(
    process.execPath,
    [
      path.join(REPO, 'deploy/qemu/run-guest.js'),
      '--collector-port',
      String(h.collector.grpcPort),
      '--token',
      guestToken.token,
      '--profile',
      'smoke',
      '--serial-log',
      serialLog,
      '--timeout',
      '1500',
      '--json',
      '--record-to',
      h.collector.grpcAddress,
    ],
    30 * 60_000,
    { GUESTBENCH_OPERATOR_TOKEN: operator.token },
  );
  timings['guest boot + smoke run'] = (Date.now() - t) / 1000;
  console.log(`QEMU end-to-end timings (s): ${JSON.stringify(timings)}`);
}, 60 * 60_000);

afterAll(async () => {
  if (h !== undefined && skipReason === undefined && serialLog !== undefined && fs.existsSync(serialLog)) {
    fs.mkdirSync(path.join(REPO, '.cache', 'runs'), { recursive: true });
    fs.copyFileSync(serialLog, path.join(REPO, '.cache', 'runs', 'e2e-last.serial.log'));
  }
  await h?.close();
});

test('the guest boots, reads its collector from SMBIOS, runs the smoke profile and its run is complete', async () => {
  if (skipReason !== undefined) return;
  const result = JSON.parse(guest.stdout) as { exitCode: number; accel: string };
  if (guest.code !== 0) throw new Error(`run-guest exited ${guest.code}: ${guest.stdout}\n${fs.readFileSync(serialLog, 'utf8').slice(-5000)}`);
  const runs = await h.collector.store.listRuns();
  const guestRun = runs.find((r) => r.platform !== 'native');
  expect(guestRun).toBeDefined();
  expect(guestRun!.status).toBe('completed');
  // TCG here (no usable KVM): the agent must say qemu; under KVM it would say kvm.
  expect(guestRun!.platform).toBe(result.accel === 'kvm' ? 'kvm' : 'qemu');
  expect(guestRun!.detectedPlatform).toBe(guestRun!.platform);
  expect(guestRun!.evidence.some((e) => e.source.includes('dmi') && /QEMU/.test(e.value))).toBe(true);
  // run-guest.js recorded the settings it started the guest with, for that run
  const [config] = await h.collector.store.getRunConfigurations([guestRun!.id]);
  expect(config?.settings).toEqual({
    machine: 'q35',
    cpu_model: result.accel === 'kvm' ? 'host-passthrough' : 'maximum',
    disk_bus: 'virtio-blk',
    disk_cache: 'writeback',
    nic: 'virtio',
    vcpus: String(guestRun!.inventory.cpus),
    memory: expect.stringMatching(/^\d+$/),
  });
  expect(config?.accelerator).toBe(result.accel);
  expect(config?.qemuVersion).toMatch(/^\d+\.\d+/);
  // it found its collector through SMBIOS: nothing else told it
  expect(fs.readFileSync(serialLog, 'utf8')).toMatch(/guestbench-agent: run ended result=success/);
});

test("the guest's clock is checked against the collector's over the run, and the difference reported", async () => {
  if (skipReason !== undefined) return;
  const guestRun = (await h.collector.store.listRuns()).find((r) => r.platform !== 'native')!;
  const c = guestRun.clock;
  console.log(
    `QEMU guest clock against the collector's: ${c.rateDifference === undefined ? 'unchecked' : `${(c.rateDifference * 100).toFixed(3)} %`} over ${c.hostSpanMs} ms${c.drift ? ' (clock-drift)' : ''}`,
  );
  // The run lasts minutes with a heartbeat every 5 s: its clock check must have a span to judge.
  expect(c.rateDifference).toBeDefined();
});

test('the comparison against the native run shows the guest, its inventory, boot.to_agent, and CPU below native', async () => {
  if (skipReason !== undefined) return;
  const res = await fetch(`${h.collector.httpUrl}/api/v1/compare?baseline=native`);
  const cmp = (await res.json()) as CompareResult;
  const group = cmp.groups.find((g) => !g.isBaseline);
  expect(group).toBeDefined();
  expect(group!.inventory.cpuModel).toMatch(/QEMU|KVM|Virtual/i);
  expect(group!.inventory.cpus).toBeGreaterThan(0);
  // The guest's own kernel, as the image's manifest names it (Debian's generic one: SATA, e1000).
  expect(imageKernel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
  expect(group!.inventory.kernel).toBe(imageKernel);
  const boot = group!.benchmarks.find((b) => b.benchmarkId === 'boot.to_agent');
  expect(boot).toBeDefined();
  expect(boot!.groupValue).toBeGreaterThan(1);
  expect(boot!.groupValue).toBeLessThan(300);
  const cpu = group!.benchmarks.filter((b) => b.benchmarkId.startsWith('cpu.') && b.primary);
  expect(cpu.length).toBeGreaterThanOrEqual(2);
  for (const b of cpu) {
    expect(b.flags).not.toContain('no-baseline');
    expect(b.relative).toBeLessThan(1);
  }
});
