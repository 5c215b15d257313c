// A realistic store for report tests: a native baseline and KVM, Xen and VMware guests on one
// host, across every test group, with noise, steal, a lost and a failed run, a benchmark
// without a baseline, and guest-supplied text that tries to inject markup.
import { EMPTY_INVENTORY, type AgentRecord, type Direction, type SampleRecord } from '../../src/model';
import type { Store } from '../../src/store/store';

/** What a hostile guest sends as its hostname: the report must show it, never run it. */
export const HOSTILE_HOSTNAME = 'vm3"><img src=x onerror="document.title=\'pwned\'"><script>window.pwned=1</script>';

interface Bench {
  readonly id: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: Direction;
  /** The native value. */
  readonly native: number;
}

export const FIXTURE_BENCHMARKS: readonly Bench[] = [
  { id: 'cpu.int32', metric: 'throughput', unit: 'Mops/s', direction: 'higher', native: 1210 },
  { id: 'cpu.int64', metric: 'throughput', unit: 'Mops/s', direction: 'higher', native: 980 },
  { id: 'cpu.float32', metric: 'throughput', unit: 'Mflops', direction: 'higher', native: 640 },
  { id: 'cpu.float64', metric: 'throughput', unit: 'Mflops', direction: 'higher', native: 610 },
  { id: 'cpu.math', metric: 'throughput', unit: 'Mcalls/s', direction: 'higher', native: 95 },
  { id: 'cpu.memory', metric: 'throughput', unit: 'Mops/s', direction: 'higher', native: 2100 },
  { id: 'mem.bandwidth', metric: 'copy', unit: 'GB/s', direction: 'higher', native: 11.8 },
  { id: 'mem.latency', metric: 'latency', unit: 'ns/load', direction: 'lower', native: 92 },
  { id: 'mem.pagefault', metric: 'throughput', unit: 'faults/s', direction: 'higher', native: 410_000 },
  { id: 'sys.syscall', metric: 'latency', unit: 'ns', direction: 'lower', native: 48 },
  { id: 'sys.spawn', metric: 'throughput', unit: 'spawns/s', direction: 'higher', native: 1450 },
  { id: 'sys.clock', metric: 'latency', unit: 'ns', direction: 'lower', native: 21 },
  { id: 'disk.seq_write', metric: 'throughput', unit: 'MB/s', direction: 'higher', native: 1900 },
  { id: 'disk.rand_read_4k', metric: 'throughput', unit: 'IOPS', direction: 'higher', native: 210_000 },
  { id: 'disk.fsync', metric: 'latency', unit: 'µs', direction: 'lower', native: 38 },
  { id: 'net.tcp_stream', metric: 'throughput', unit: 'Mbit/s', direction: 'higher', native: 38_000 },
  { id: 'net.tcp_rr', metric: 'throughput', unit: 'round trips/s', direction: 'higher', native: 61_000 },
  { id: 'web.static_small', metric: 'throughput', unit: 'req/s', direction: 'higher', native: 24_000 },
  { id: 'web.cgi_small', metric: 'throughput', unit: 'req/s', direction: 'higher', native: 1300 },
  { id: 'boot.to_agent', metric: 'time', unit: 's', direction: 'lower', native: 9.5 },
];

/** Each platform's speed relative to native per test group (before noise). */
const FACTORS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  native: { cpu: 1, mem: 1, sys: 1, disk: 1, net: 1, web: 1, boot: 1 },
  kvm: { cpu: 0.985, mem: 0.93, sys: 0.82, disk: 0.71, net: 0.86, web: 0.9, boot: 2.3 },
  'kvm/virtio-scsi': { cpu: 0.985, mem: 0.93, sys: 0.82, disk: 0.88, net: 0.86, web: 0.9, boot: 2.2 },
  xen: { cpu: 0.97, mem: 0.88, sys: 0.64, disk: 0.8, net: 0.79, web: 0.84, boot: 1.5 },
  vmware: { cpu: 0.96, mem: 0.9, sys: 0.75, disk: 0.77, net: 0.83, web: 0.87, boot: 1.8 },
};

/** A small deterministic generator, so that the fixture and its numbers never change. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function agent(id: string, platform: string, hostname: string, over: Partial<AgentRecord> = {}): AgentRecord {
  const evidence: Record<string, AgentRecord['evidence']> = {
    native: [{ source: '/proc/cpuinfo flags', value: 'no hypervisor flag', suggests: 'native' }],
    kvm: [
      { source: '/sys/class/dmi/id/sys_vendor', value: 'QEMU', suggests: 'kvm' },
      { source: 'dmesg', value: 'Hypervisor detected: KVM', suggests: 'kvm' },
    ],
    xen: [
      { source: '/sys/hypervisor/type', value: 'xen', suggests: 'xen' },
      { source: '/proc/xen', value: 'present', suggests: 'xen' },
    ],
    vmware: [{ source: '/sys/class/dmi/id/sys_vendor', value: 'VMware, Inc.', suggests: 'vmware' }],
  };
  const clocksource: Record<string, string> = { native: 'tsc', kvm: 'kvm-clock', xen: 'xen', vmware: 'tsc' };
  return {
    id,
    hostname,
    declaredPlatform: platform === 'native' ? 'native' : '',
    detectedPlatform: platform,
    platform,
    evidence: evidence[platform] ?? [],
    inventory: {
      ...EMPTY_INVENTORY,
      hostname,
      cpuModel: 'AMD EPYC 7302P 16-Core Processor',
      cpus: platform === 'native' ? 32 : 4,
      memoryBytes: (platform === 'native' ? 128 : 8) * 2 ** 30,
      kernel: platform === 'xen' ? '6.1.0-21-amd64 (PV)' : '6.1.0-21-amd64',
      os: 'Debian GNU/Linux 12 (bookworm)',
      arch: 'x64',
      clocksource: clocksource[platform] ?? '',
      systemVendor: platform === 'native' ? 'Supermicro' : platform === 'kvm' ? 'QEMU' : platform === 'vmware' ? 'VMware, Inc.' : '',
      systemModel: platform === 'native' ? 'H12SSL-i' : platform === 'kvm' ? 'Standard PC (Q35 + ICH9, 2009)' : '',
      nodeVersion: 'v20.20.2',
    },
    agentVersion: '0.1.0',
    enrolledAtMs: Date.UTC(2024, 4, 1),
    ...over,
  };
}

export interface FixtureRun {
  readonly group: string;
  readonly id: string;
}

/**
 * Fills `store` and returns the runs made. Runs start from 2024-05-01 10:00 UTC, an hour apart.
 */
export async function fillReportFixture(store: Store): Promise<FixtureRun[]> {
  const rnd = random(2009);
  const t0 = Date.UTC(2024, 4, 1, 10, 0, 0);
  let hour = 0;
  const agents = [
    agent('agent-native', 'native', 'metal01'),
    agent('agent-kvm', 'kvm', 'vm1-kvm'),
    agent('agent-xen', 'xen', 'vm2-xen'),
    agent('agent-vmware', 'vmware', HOSTILE_HOSTNAME),
  ];
  for (const a of agents) await store.upsertAgent(a);
  const plan: { group: string; agentId: string; label: string; runs: number; noise: number; steal: number }[] = [
    { group: 'native', agentId: 'agent-native', label: '', runs: 3, noise: 0.012, steal: 0 },
    { group: 'kvm', agentId: 'agent-kvm', label: '', runs: 3, noise: 0.02, steal: 0.002 },
    { group: 'kvm/virtio-scsi', agentId: 'agent-kvm', label: 'virtio-scsi', runs: 2, noise: 0.02, steal: 0.002 },
    { group: 'xen', agentId: 'agent-xen', label: '', runs: 3, noise: 0.03, steal: 0.03 },
    { group: 'vmware', agentId: 'agent-vmware', label: '', runs: 2, noise: 0.09, steal: 0.004 },
  ];
  const made: FixtureRun[] = [];
  for (const p of plan) {
    const factors = FACTORS[p.group] ?? {};
    for (let i = 0; i < p.runs; i++) {
      const id = `run-${p.group.replace('/', '-')}-${i + 1}`;
      const start = t0 + hour++ * 3_600_000;
      await store.startRun({ id, agentId: p.agentId, label: p.label, profile: 'quick', agentVersion: '0.1.0', startedAtMs: start, jobId: '' });
      const samples: SampleRecord[] = [];
      for (const b of FIXTURE_BENCHMARKS) {
        const category = b.id.slice(0, b.id.indexOf('.'));
        if (p.group === 'xen' && b.id === 'web.cgi_small') continue; // not measured on Xen
        const factor = factors[category] ?? 1;
        const mean = b.direction === 'higher' ? b.native * factor : b.native / factor;
        const runShift = 1 + (rnd() - 0.5) * p.noise;
        const trials = Array.from({ length: 5 }, () => mean * runShift * (1 + (rnd() - 0.5) * p.noise * 2));
        const value = trials.reduce((x, y) => x + y, 0) / trials.length;
        const sd = Math.sqrt(trials.reduce((x, y) => x + (y - value) ** 2, 0) / (trials.length - 1));
        samples.push({
          id: `${id}:${b.id}:${b.metric}`,
          runId: id,
          benchmarkId: b.id,
          metric: b.metric,
          unit: b.unit,
          direction: b.direction,
          value,
          trials,
          trialCount: trials.length,
          rsd: sd / value,
          stealFraction: category === 'cpu' || category === 'sys' ? p.steal : 0,
          // VMware ran cpu.memory with other parameters: no baseline pairs with it.
          parameters: b.id === 'cpu.memory' && p.group === 'vmware' ? { size: '32KiB' } : b.id === 'cpu.memory' ? { size: '16KiB' } : {},
          primary: true,
          clocksource: '',
          durationSeconds: 2,
          finishedAtMs: start + 60_000,
          flags: [],
        });
      }
      await store.insertSamples(id, samples);
      await store.recordHeartbeat(id, start + 118_000);
      await store.endRun(id, { status: 'completed', error: '', endedAtMs: start + 120_000 });
      made.push({ group: p.group, id });
    }
  }
  // Xen lost one run (its guest hung) and VMware failed one (with a hostile error text).
  const lostStart = t0 + hour++ * 3_600_000;
  await store.startRun({ id: 'run-xen-lost', agentId: 'agent-xen', label: '', profile: 'quick', agentVersion: '0.1.0', startedAtMs: lostStart, jobId: '' });
  await store.recordHeartbeat('run-xen-lost', lostStart + 40_000);
  await store.endRun('run-xen-lost', { status: 'lost', error: 'no heartbeat since 40 s into the run', endedAtMs: lostStart + 70_000 });
  const failedStart = t0 + hour++ * 3_600_000;
  await store.startRun({
    id: 'run-vmware-failed',
    agentId: 'agent-vmware',
    label: '',
    profile: 'quick',
    agentVersion: '0.1.0',
    startedAtMs: failedStart,
    jobId: '',
  });
  await store.recordHeartbeat('run-vmware-failed', failedStart + 4_000);
  await store.endRun('run-vmware-failed', { status: 'failed', error: 'disk.seq_write: ENOSPC <b>no space</b>', endedAtMs: failedStart + 5_000 });
  made.push({ group: 'xen', id: 'run-xen-lost' }, { group: 'vmware', id: 'run-vmware-failed' });
  return made;
}
