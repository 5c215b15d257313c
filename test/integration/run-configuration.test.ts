// The lab's side of the collector: an operator records the configuration of a run over gRPC
// (guestbench-lab's own client), the store keeps it, and the configuration view (HTTP API and
// report) shows, for each setting, the ratio between its values with everything else equal.
import { generateToken, type ConfigurationView, type SampleRecord } from '@guestbench/collector';
import { CollectorClient } from '../../lab/src/collector/collector-client';
import { startHarness, type Harness } from '../helpers/collector-harness';

let h: Harness;
let operator: string;
let agentToken: string;

const GROUPS = [
  { label: 'disk-virtio-blk.nic-virtio', disk: 'virtio-blk', nic: 'virtio', iops: 1000 },
  { label: 'disk-virtio-blk.nic-e1000', disk: 'virtio-blk', nic: 'e1000', iops: 1000 },
  { label: 'disk-sata.nic-virtio', disk: 'sata', nic: 'virtio', iops: 420 },
  { label: 'disk-sata.nic-e1000', disk: 'sata', nic: 'e1000', iops: 420 },
];

function sample(runId: string, benchmarkId: string, trials: number[]): SampleRecord {
  return {
    id: `${runId}:${benchmarkId}`,
    runId,
    benchmarkId,
    metric: 'iops',
    unit: 'IO/s',
    direction: 'higher',
    value: trials[0]!,
    trials,
    trialCount: trials.length,
    rsd: 0.01,
    stealFraction: 0,
    parameters: { block: '4096' },
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: 1,
    flags: [],
  };
}

beforeAll(async () => {
  h = await startHarness({ auth: 'tokens' });
  const op = generateToken({ name: 'lab', kind: 'operator', platform: '', expiresAtMs: undefined, nowMs: Date.now() });
  const ag = generateToken({ name: 'guest', kind: 'agent', platform: '', expiresAtMs: undefined, nowMs: Date.now() });
  await h.collector.store.createToken(op.record);
  await h.collector.store.createToken(ag.record);
  operator = op.token;
  agentToken = ag.token;
  const store = h.collector.store;
  await store.upsertAgent({
    id: 'guest-1',
    hostname: 'guest',
    declaredPlatform: '',
    detectedPlatform: 'qemu',
    platform: 'qemu',
    evidence: [],
    inventory: {
      hostname: 'guest',
      cpuModel: 'QEMU',
      cpus: 2,
      memoryBytes: 2 ** 30,
      kernel: 'k',
      os: 'debian',
      arch: 'x64',
      clocksource: 'tsc',
      cpuFlags: '',
      systemVendor: 'QEMU',
      systemModel: '',
      nodeVersion: '20',
    },
    agentVersion: '0.1.0',
    enrolledAtMs: 1,
  });
  let t = 1000;
  for (const g of GROUPS) {
    for (const rep of [1, 2]) {
      const id = `run-${g.disk}-${g.nic}-${rep}`;
      await store.startRun({ id, agentId: 'guest-1', label: g.label, profile: 'smoke', agentVersion: '0.1.0', startedAtMs: t++, jobId: '' });
      const wobble = rep === 1 ? 0.98 : 1.02;
      await store.insertSamples(id, [sample(id, 'disk.rand_read_4k', [g.iops * wobble, g.iops * wobble * 1.01, g.iops * wobble * 0.99])]);
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: t++ });
    }
  }
});
afterAll(async () => h?.close());

async function recordAll(client: CollectorClient): Promise<string[]> {
  const groups: string[] = [];
  for (const g of GROUPS) {
    for (const rep of [1, 2]) {
      groups.push(
        await client.recordRunConfiguration({
          runId: `run-${g.disk}-${g.nic}-${rep}`,
          settings: { disk_bus: g.disk, nic: g.nic, cpu_model: 'maximum', machine: 'q35' },
          hostKernel: '6.1.0-57-cloud-amd64',
          qemuVersion: '7.2.22',
          libvirtVersion: '9.0.0',
          accelerator: 'tcg',
        }),
      );
    }
  }
  return groups;
}

test('only an operator token may record a configuration; bad input is refused and changes nothing', async () => {
  const anonymous = new CollectorClient(h.collector.grpcAddress, undefined);
  const agent = new CollectorClient(h.collector.grpcAddress, agentToken);
  const op = new CollectorClient(h.collector.grpcAddress, operator);
  const req = { runId: 'run-sata-e1000-1', settings: { disk_bus: 'sata' }, hostKernel: '', qemuVersion: '', libvirtVersion: '', accelerator: 'tcg' };
  try {
    await expect(anonymous.recordRunConfiguration(req)).rejects.toThrow(/no token/);
    await expect(agent.recordRunConfiguration(req)).rejects.toThrow(/is an agent token; this call needs an operator token/);
    await expect(op.recordRunConfiguration({ ...req, runId: 'nope' })).rejects.toThrow(/run nope does not exist/);
    await expect(op.recordRunConfiguration({ ...req, settings: {} })).rejects.toThrow(/settings: give at least one setting/);
    await expect(op.recordRunConfiguration({ ...req, settings: { 'Disk Bus': 'sata' } })).rejects.toThrow(/settings: name "Disk Bus" must be lower-case/);
    await expect(op.recordRunConfiguration({ ...req, settings: { disk_bus: 'x\u0007' } })).rejects.toThrow(/settings\.disk_bus: at most 256 printable/);
    await expect(op.recordRunConfiguration({ ...req, accelerator: 'warp' })).rejects.toThrow(/accelerator: "warp" is not one of kvm, tcg/);
    expect(await h.collector.store.getRunConfigurations(['run-sata-e1000-1'])).toEqual([]);
  } finally {
    anonymous.close();
    agent.close();
    op.close();
  }
});

test("recorded configurations name each group and give each setting's effect with everything else equal", async () => {
  const op = new CollectorClient(h.collector.grpcAddress, operator);
  try {
    const groups = await recordAll(op);
    expect(groups[0]).toBe('qemu/disk-virtio-blk.nic-virtio');
    expect(groups[7]).toBe('qemu/disk-sata.nic-e1000');
  } finally {
    op.close();
  }
  const view = (await (await fetch(`${h.collector.httpUrl}/api/v1/configurations`)).json()) as ConfigurationView;
  expect(view.groups.map((g) => g.key)).toEqual(GROUPS.map((g) => `qemu/${g.label}`).sort());
  expect(view.groups.every((g) => g.configuredRuns === 2 && g.runs === 2 && !g.mixed && g.accelerator === 'tcg' && g.qemuVersion === '7.2.22')).toBe(true);
  const disk = view.effects.filter((e) => e.setting === 'disk_bus');
  // once per value of the other setting: with nic=virtio and with nic=e1000
  expect(disk.map((e) => [e.value, e.reference, e.others['nic']])).toEqual([
    ['sata', 'virtio-blk', 'e1000'],
    ['sata', 'virtio-blk', 'virtio'],
  ]);
  for (const e of disk) {
    expect(e.ratio).toBeCloseTo(0.42, 6);
    expect(e.ciLow!).toBeLessThan(0.42);
    expect(e.ciHigh!).toBeGreaterThan(0.42);
    expect(e.ciHigh! - e.ciLow!).toBeLessThan(0.2);
  }
  // the NIC does not change disk IOPS here: ratio 1 with everything else equal
  const nic = view.effects.filter((e) => e.setting === 'nic');
  expect(nic).toHaveLength(2);
  for (const e of nic) expect(e.ratio).toBeCloseTo(1, 6);

  const text = await (await fetch(`${h.collector.httpUrl}/api/v1/configurations?format=text`)).text();
  expect(text).toMatch(
    /disk bus sata vs virtio-blk on disk\.rand_read_4k \{"block":"4096"\}: ×0\.42 \(0\.\d\d–0\.\d\d\) {2}\[cpu_model=maximum,machine=q35,nic=e1000\]/,
  );
  const bad = await fetch(`${h.collector.httpUrl}/api/v1/configurations?colour=red`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: string }).error).toMatch(/unknown query parameter "colour"/);

  // the report shows the configuration beside each group, and the effects
  const report = await (await fetch(`${h.collector.httpUrl}/report.txt`)).text();
  expect(report).toMatch(
    /qemu\/disk-sata\.nic-e1000: cpu_model=maximum disk_bus=sata machine=q35 nic=e1000; tcg, kernel 6\.1\.0-57-cloud-amd64, QEMU 7\.2\.22, libvirt 9\.0\.0; 2\/2 runs recorded/,
  );
  const html = await (await fetch(`${h.collector.httpUrl}/`)).text();
  expect(html).toContain('<tr data-config-group="qemu/disk-sata.nic-e1000">');
  expect(html).toMatch(/<li data-setting="disk_bus">disk bus sata vs virtio-blk on disk\.rand_read_4k/);
});
