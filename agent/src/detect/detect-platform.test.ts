import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLOCKSOURCE_AVAILABLE,
  MAX_VALUE_LENGTH,
  PLATFORMS,
  decidePlatform,
  detectPlatform,
  findHypervisorLine,
  type Evidence,
  type Platform,
} from './detect-platform';
import type { RunCommand } from './run-command';

const FIXTURES = path.join(__dirname, '../../test/fixtures/platform');
const fixture = (name: string): string => path.join(FIXTURES, name);
const dmi = (field: string): string => `/sys/class/dmi/id/${field}`;
const SYSTEMD_FIXTURE = 'systemd-detect-virt --vm (captured in /.fixture/systemd-detect-virt)';

/** Folders made by a test, removed at the end. */
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

/** A root folder holding the given files (system path → content). */
function makeRoot(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-detect-'));
  scratch.push(root);
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
  return root;
}

/** The privileged witnesses: the kernel's log (ring buffer and files) and systemd-detect-virt. */
const KERNEL_LOG = ['dev/kmsg', 'var/log/dmesg', 'var/log/kern.log'];
const SYSTEMD = ['.fixture/systemd-detect-virt'];

/** A copy of a fixture tree without the given files, as a user without privilege or tools sees it. */
function copyWithout(name: string, remove: readonly string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `guestbench-${name}-`));
  scratch.push(root);
  fs.cpSync(fixture(name), root, { recursive: true });
  for (const file of remove) fs.rmSync(path.join(root, file), { force: true });
  return root;
}

const FLAGS_VM = 'flags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm\n';
const FLAGS_METAL = 'flags\t\t: fpu vme de pse tsc msr vmx lahf_lm\n';
const BANNER =
  'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)';

describe('the same verdict with and without the privileged witnesses', () => {
  // Each machine kind, including the conflicting ones, with the verdict it must get.
  const machines: Array<[name: string, platform: Platform]> = [
    ['vmware', 'vmware'],
    ['xen-hvm', 'xen'],
    ['xen-pv', 'xen'],
    ['kvm', 'kvm'], // libvirt
    ['kvm-openstack', 'kvm'],
    ['kvm-ec2-nitro', 'kvm'],
    ['kvm-gce', 'kvm'],
    ['hyperv', 'hyperv'],
    ['virtualbox-kvm', 'other'], // VirtualBox, although the kernel says KVM (its paravirt interface)
    ['bare-metal', 'native'],
    ['pvm', 'other'], // like this project's development machine
    ['qemu-tcg', 'qemu'],
    ['tcg-vmware-dmi', 'qemu'], // TCG given VMware's DMI strings
    ['kvm-cloned-from-vmware', 'kvm'], // its /var/log/dmesg is the VMware machine's
    ['unknown-hypervisor', 'other'],
  ];
  const variants: Array<[label: string, remove: string[]]> = [
    ['every witness', []],
    ['no kernel log (unprivileged)', KERNEL_LOG],
    ['no systemd-detect-virt', SYSTEMD],
    ['neither', [...KERNEL_LOG, ...SYSTEMD]],
  ];
  const cases = machines.flatMap(([name, platform]) => variants.map(([label, remove]) => [name, label, platform, remove] as const));

  it.each(cases)('%s with %s: %s', async (name, _label, platform, remove) => {
    const root = remove.length === 0 ? fixture(name) : copyWithout(name, remove);
    const detection = await detectPlatform({ root });
    expect(detection.platform).toBe(platform);
    // Each fixture's witnesses were all read: nothing in them is unreadable.
    expect(detection.evidence.filter((e) => e.value.startsWith('unreadable'))).toEqual([]);
  });

  it('runs no command when the root is not the live system', async () => {
    const runCommand = jest.fn<ReturnType<RunCommand>, Parameters<RunCommand>>();
    await detectPlatform({ root: fixture('qemu-tcg'), runCommand });
    expect(runCommand).not.toHaveBeenCalled();
  });
});

describe('evidence names each witness and what it said', () => {
  it('a full record: KVM under libvirt', async () => {
    await expect(detectPlatform({ root: fixture('kvm') })).resolves.toEqual({
      platform: 'kvm',
      evidence: [
        { source: '/var/log/dmesg', value: 'Hypervisor detected: KVM', suggests: 'kvm' },
        { source: dmi('sys_vendor'), value: 'QEMU', suggests: 'qemu' },
        { source: dmi('product_name'), value: 'Standard PC (Q35 + ICH9, 2009)', suggests: 'qemu' },
        { source: dmi('bios_vendor'), value: 'SeaBIOS', suggests: 'qemu' },
        { source: dmi('bios_version'), value: '1.16.2-debian-1.16.2-1', suggests: '' },
        { source: '/proc/cpuinfo', value: 'model name: Intel Xeon Processor (Cascadelake)', suggests: '' },
        { source: '/proc/cpuinfo', value: 'flags: hypervisor', suggests: '' },
        { source: CLOCKSOURCE_AVAILABLE, value: 'kvm-clock tsc hpet acpi_pm', suggests: 'kvm' },
        { source: SYSTEMD_FIXTURE, value: 'kvm', suggests: 'kvm' },
      ],
    });
  });

  it('keeps the vendor of a KVM-based cloud: EC2 Nitro is kvm, and says amazon', async () => {
    const { evidence } = await detectPlatform({ root: fixture('kvm-ec2-nitro') });
    expect(evidence).toContainEqual({ source: dmi('sys_vendor'), value: 'Amazon EC2', suggests: 'kvm' });
    expect(evidence).toContainEqual({ source: SYSTEMD_FIXTURE, value: 'amazon', suggests: 'kvm' });
    expect((await detectPlatform({ root: fixture('kvm-gce') })).evidence).toContainEqual({ source: SYSTEMD_FIXTURE, value: 'google', suggests: 'kvm' });
  });

  it('names the stale log file of a cloned image and says why it is not believed', async () => {
    const { evidence } = await detectPlatform({ root: fixture('kvm-cloned-from-vmware') });
    expect(evidence[0]).toEqual({
      source: '/var/log/dmesg',
      value: expect.stringMatching(/^not this boot: its firmware line "DMI: VMware, Inc\. VMware Virtual Platform.*" is not this machine's "QEMU"$/),
      suggests: '',
    });
    expect(evidence.filter((e) => e.suggests === 'vmware')).toEqual([]);
  });

  it('reads the live kernel from /dev/kmsg', async () => {
    const { evidence } = await detectPlatform({ root: fixture('pvm') });
    expect(evidence[0]).toEqual({ source: '/dev/kmsg', value: 'Hypervisor detected: PVM', suggests: 'other' });
  });

  it('says when a witness cannot be read, and then does not call the machine native', async () => {
    // A directory where the file should be: EISDIR, as EACCES would be for a user.
    const root = makeRoot({ '/proc/cpuinfo': FLAGS_METAL, [`${dmi('sys_vendor')}/x`]: '', '/dev/kmsg/x': '' });
    const detection = await detectPlatform({ root });
    expect(detection.evidence).toContainEqual({ source: dmi('sys_vendor'), value: 'unreadable: EISDIR', suggests: '' });
    expect(detection.evidence).toContainEqual({ source: '/dev/kmsg', value: 'unreadable: EISDIR', suggests: '' });
    // The flags alone still say native: an unreadable witness does not invent a hypervisor.
    expect(detection.platform).toBe('native');

    const vm = makeRoot({ '/proc/cpuinfo': FLAGS_METAL, [dmi('sys_vendor')]: 'VMware, Inc.\n', '/dev/kmsg/x': '' });
    // A hypervisor that hides the CPU flag is still found by its firmware strings.
    expect((await detectPlatform({ root: vm })).platform).toBe('vmware');
  });
});

describe('kernel log files count only for the current boot', () => {
  const boot = 1_706_774_400; // btime in /proc/stat
  const log = (lines: string[]): string => lines.map((l) => `[    0.000000] ${l}`).join('\n');
  const rootWith = (dmesg: string, extra: Record<string, string> = {}): string =>
    makeRoot({ '/var/log/dmesg': dmesg, '/proc/version': `${BANNER}\n`, '/proc/stat': `btime ${boot}\n`, '/proc/cpuinfo': FLAGS_VM, ...extra });

  it('believes a file of this boot', async () => {
    const root = rootWith(log([BANNER, 'Hypervisor detected: KVM']));
    expect((await detectPlatform({ root })).evidence[0]).toEqual({ source: '/var/log/dmesg', value: 'Hypervisor detected: KVM', suggests: 'kvm' });
  });

  it('rejects a file last written before the boot', async () => {
    const root = rootWith(log([BANNER, 'Hypervisor detected: VMware']));
    const before = new Date((boot - 3600) * 1000);
    fs.utimesSync(path.join(root, 'var/log/dmesg'), before, before);
    const detection = await detectPlatform({ root });
    expect(detection.evidence[0]).toEqual({ source: '/var/log/dmesg', value: 'not this boot: last written before this boot began', suggests: '' });
    expect(detection.platform).toBe('other');
  });

  it('rejects a file whose kernel is not the running one', async () => {
    const root = rootWith(log(['Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007) #115-Ubuntu SMP', 'Hypervisor detected: VMware']));
    expect((await detectPlatform({ root })).evidence[0]?.value).toBe('not this boot: its kernel banner differs from /proc/version');
  });

  it('does not use a file when the boot cannot be identified', async () => {
    const root = makeRoot({ '/var/log/dmesg': log([BANNER, 'Hypervisor detected: KVM']) });
    expect((await detectPlatform({ root })).evidence[0]?.value).toMatch(/^not used: cannot tell whether it is of this boot/);
  });

  it('reads only the current boot of a kern.log that holds an earlier boot under KVM', async () => {
    const root = makeRoot({
      '/proc/version': `${BANNER}\n`,
      '/proc/stat': `btime ${boot}\n`,
      '/var/log/kern.log': [
        `Mar  1 09:00:00 vm kernel: [    0.000000] ${BANNER}`,
        'Mar  1 09:00:00 vm kernel: [    0.000000] Hypervisor detected: KVM',
        `Mar  2 10:00:00 vm kernel: [    0.000000] ${BANNER}`,
        'Mar  2 10:00:00 vm kernel: [    0.083412] Booting paravirtualized kernel on bare hardware',
        '',
      ].join('\n'),
    });
    await expect(detectPlatform({ root })).resolves.toEqual({
      platform: 'other',
      evidence: [{ source: '/var/log/kern.log', value: 'no "Hypervisor detected" line in this boot', suggests: '' }],
    });
  });

  it('goes on to the next source when the ring buffer no longer reaches back to boot', async () => {
    const root = rootWith(log([BANNER, 'Hypervisor detected: KVM']), { '/dev/kmsg': '6,90210,0,-;virtio_net virtio1 ens3: renamed\n' });
    const { evidence } = await detectPlatform({ root });
    expect(evidence.slice(0, 2)).toEqual([
      { source: '/dev/kmsg', value: 'no "Hypervisor detected" line, and the log no longer reaches back to boot', suggests: '' },
      { source: '/var/log/dmesg', value: 'Hypervisor detected: KVM', suggests: 'kvm' },
    ]);
  });

  it('finds the hypervisor line in syslog, kmsg and journal formats', () => {
    expect(findHypervisorLine('Mar  2 10:00:00 vm kernel: [    0.000000] Hypervisor detected: KVM\n')).toBe('KVM');
    expect(findHypervisorLine('6,12,0,-;Hypervisor detected: VMware\n')).toBe('VMware');
    expect(findHypervisorLine('Linux version 6.1.0\nHypervisor detected: Xen HVM\r\n')).toBe('Xen HVM');
    expect(findHypervisorLine('Booting paravirtualized kernel on bare hardware\n')).toBeUndefined();
  });
});

describe('verdict rules', () => {
  const kernel = (name: string, suggests: Platform): Evidence => ({ source: '/dev/kmsg', value: `Hypervisor detected: ${name}`, suggests });
  const vendor = (value: string, suggests: Platform | ''): Evidence => ({ source: dmi('sys_vendor'), value, suggests });
  const clock = (value: string, suggests: Platform | ''): Evidence => ({ source: CLOCKSOURCE_AVAILABLE, value, suggests });
  const hv: Evidence = { source: '/proc/cpuinfo', value: 'flags: hypervisor', suggests: '' };
  const metal: Evidence = { source: '/proc/cpuinfo', value: 'flags: no hypervisor flag', suggests: 'native' };

  it('lets a vendor that offers the kernel-named interface win over it, and no other vendor', () => {
    expect(decidePlatform([kernel('KVM', 'kvm'), vendor('innotek GmbH', 'other')])).toBe('other');
    expect(decidePlatform([kernel('Microsoft Hyper-V', 'hyperv'), vendor('innotek GmbH', 'other')])).toBe('other');
    // KVM with VMware's strings set by its owner: VMware offers no KVM interface.
    expect(decidePlatform([kernel('KVM', 'kvm'), vendor('VMware, Inc.', 'vmware')])).toBe('kvm');
  });

  it('does not believe DMI strings that a witness the hypervisor sets contradicts', () => {
    const qemuCpu: Evidence = { source: '/proc/cpuinfo', value: 'model name: QEMU Virtual CPU version 2.5+', suggests: 'qemu' };
    expect(decidePlatform([vendor('VMware, Inc.', 'vmware'), qemuCpu, hv])).toBe('qemu');
    expect(decidePlatform([vendor('VMware, Inc.', 'vmware'), qemuCpu, hv, clock('kvm-clock tsc', 'kvm')])).toBe('kvm');
    expect(decidePlatform([vendor('VMware, Inc.', 'vmware'), hv, clock('hyperv_clocksource_tsc_page', 'hyperv')])).toBe('hyperv');
    expect(decidePlatform([vendor('innotek GmbH', 'other'), hv, clock('kvm-clock', 'kvm')])).toBe('other');
  });

  it('takes kvm-clock as KVM beside a QEMU machine, and not alone', () => {
    expect(decidePlatform([vendor('QEMU', 'qemu'), hv, clock('kvm-clock', 'kvm')])).toBe('kvm');
    expect(decidePlatform([vendor('QEMU', 'qemu'), hv])).toBe('qemu');
    expect(decidePlatform([hv, clock('kvm-clock', 'kvm')])).toBe('other');
    // Even with the hypervisor flag hidden, a paravirtual clock is a hypervisor: never native.
    expect(decidePlatform([metal, clock('kvm-clock', 'kvm')])).toBe('other');
  });

  it('takes systemd-detect-virt after every file witness', () => {
    const systemd = (id: string, suggests: Platform): Evidence => ({ source: '/usr/bin/systemd-detect-virt --vm', value: id, suggests });
    expect(decidePlatform([hv, clock('kvm-clock', 'kvm'), systemd('bhyve', 'other')])).toBe('other');
    expect(decidePlatform([hv, clock('kvm-clock', 'kvm'), systemd('kvm', 'kvm')])).toBe('kvm');
    expect(decidePlatform([vendor('VMware, Inc.', 'vmware'), hv, systemd('qemu', 'qemu')])).toBe('vmware');
  });

  it('calls a VM it cannot name other, not native', async () => {
    const root = makeRoot({ '/proc/cpuinfo': FLAGS_VM });
    await expect(detectPlatform({ root })).resolves.toEqual({
      platform: 'other',
      evidence: [{ source: '/proc/cpuinfo', value: 'flags: hypervisor', suggests: '' }],
    });
  });

  it('reads a Surface laptop ("Microsoft Corporation", not "Virtual Machine") as native', async () => {
    const root = makeRoot({
      [dmi('sys_vendor')]: 'Microsoft Corporation\n',
      [dmi('product_name')]: 'Surface Laptop 5\n',
      '/proc/cpuinfo': FLAGS_METAL,
    });
    const detection = await detectPlatform({ root });
    expect(detection.platform).toBe('native');
    expect(detection.evidence.filter((e) => e.suggests === 'hyperv')).toEqual([]);
  });

  it('accepts "none" from systemd-detect-virt as native only on CPUs without an x86 flags line', async () => {
    const arm = makeRoot({
      '/proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n',
      '/.fixture/systemd-detect-virt': 'none\n',
    });
    expect((await detectPlatform({ root: arm })).platform).toBe('native');
    const x86vm = makeRoot({ '/proc/cpuinfo': FLAGS_VM, '/.fixture/systemd-detect-virt': 'none\n' });
    expect((await detectPlatform({ root: x86vm })).platform).toBe('other');
  });
});

describe('robustness', () => {
  it('gives other with no evidence for a root that does not exist, without throwing', async () => {
    // 'other', not 'native': native is the baseline guests are divided by, so it needs evidence.
    const root = path.join(os.tmpdir(), 'guestbench-no-such-root', String(process.pid));
    await expect(detectPlatform({ root })).resolves.toEqual({ platform: 'other', evidence: [] });
  });

  it('bounds long values and strips control characters', async () => {
    const root = makeRoot({ [dmi('sys_vendor')]: `Evil\u001b[2J${'x'.repeat(5000)}\n` });
    const [vendor] = (await detectPlatform({ root })).evidence;
    expect(vendor?.value.length).toBe(MAX_VALUE_LENGTH);
    expect(vendor?.value).toMatch(/^Evil \[2Jx+…$/);
  });

  it('on the live root, names the command as run and says why one failed', async () => {
    const calls: string[] = [];
    const detection = await detectPlatform({
      runCommand: async (cmd, args) => {
        calls.push([cmd, ...args].join(' '));
        return cmd === 'systemd-detect-virt'
          ? { ok: true, command: '/usr/bin/systemd-detect-virt --vm', stdout: 'microsoft\n' }
          : { ok: false, command: `/usr/bin/${cmd}`, reason: 'exit 1: dmesg: read kernel buffer failed: Operation not permitted' };
      },
    });
    expect(calls).toContain('systemd-detect-virt --vm');
    expect(detection.evidence).toContainEqual({ source: '/usr/bin/systemd-detect-virt --vm', value: 'microsoft', suggests: 'hyperv' });

    const failing = await detectPlatform({
      runCommand: () => {
        throw new Error('spawn failed');
      },
    });
    expect(PLATFORMS).toContain(failing.platform);
    expect(failing.evidence).toContainEqual({ source: 'systemd-detect-virt --vm', value: 'failed: spawn failed', suggests: '' });
  });

  it('stops a systemd-detect-virt that hangs at the detection budget, and its child', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-bin-'));
    scratch.push(bin);
    const pidFile = path.join(bin, 'pids');
    fs.writeFileSync(
      path.join(bin, 'systemd-detect-virt'),
      `#!/bin/sh\ntrap '' TERM\n(trap '' TERM; exec sleep 30) &\necho $! >> ${pidFile}\necho $$ >> ${pidFile}\nsleep 30\n`,
      { mode: 0o755 },
    );
    const savedPath = process.env['PATH'];
    process.env['PATH'] = `${bin}:${savedPath ?? ''}`;
    try {
      const detection = await detectPlatform({ budgetMs: 700 });
      expect(detection.evidence).toContainEqual({
        source: `${bin}/systemd-detect-virt --vm`,
        value: 'timed out (budget 700 ms), process group killed',
        suggests: '',
      });
    } finally {
      process.env['PATH'] = savedPath;
    }
    // Gone, or a zombie waiting for init to reap it: either way no longer running.
    for (const pid of fs.readFileSync(pidFile, 'utf8').trim().split('\n').map(Number)) {
      let state = 'gone';
      try {
        state = /^\d+ \(.*\) (\w) /.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 'gone';
      } catch {
        // ENOENT: reaped.
      }
      expect(['gone', 'Z']).toContain(state);
    }
  });
});
