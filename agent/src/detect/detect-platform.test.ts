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
  type Detection,
  type Evidence,
} from './detect-platform';

const FIXTURES = path.join(__dirname, '../../test/fixtures/platform');
const fixture = (name: string): string => path.join(FIXTURES, name);
const dmi = (field: string): string => `/sys/class/dmi/id/${field}`;

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

const FLAGS_VM = 'flags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm\n';
const FLAGS_METAL = 'flags\t\t: fpu vme de pse tsc msr vmx lahf_lm\n';

describe('detectPlatform on fixture trees', () => {
  const cases: Array<[name: string, expected: Detection]> = [
    [
      'kvm',
      {
        platform: 'kvm',
        evidence: [
          { source: dmi('sys_vendor'), value: 'QEMU', suggests: 'qemu' },
          { source: dmi('product_name'), value: 'Standard PC (Q35 + ICH9, 2009)', suggests: 'qemu' },
          { source: dmi('bios_vendor'), value: 'SeaBIOS', suggests: 'qemu' },
          { source: dmi('bios_version'), value: '1.16.2-debian-1.16.2-1', suggests: '' },
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: KVM', suggests: 'kvm' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'kvm-clock tsc hpet acpi_pm', suggests: 'kvm' },
          { source: 'systemd-detect-virt', value: 'kvm', suggests: 'kvm' },
        ],
      },
    ],
    [
      'qemu-tcg',
      {
        platform: 'qemu',
        evidence: [
          { source: dmi('sys_vendor'), value: 'QEMU', suggests: 'qemu' },
          { source: dmi('product_name'), value: 'Standard PC (i440FX + PIIX, 1996)', suggests: 'qemu' },
          { source: dmi('bios_vendor'), value: 'SeaBIOS', suggests: 'qemu' },
          { source: dmi('bios_version'), value: 'rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org', suggests: 'qemu' },
          // qemu64 sets the hypervisor bit under TCG too; only the missing KVM signature tells.
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'no "Hypervisor detected" line in /var/log/dmesg', suggests: '' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'hpet acpi_pm', suggests: '' },
          { source: 'systemd-detect-virt', value: 'qemu', suggests: 'qemu' },
        ],
      },
    ],
    [
      'vmware',
      {
        platform: 'vmware',
        evidence: [
          { source: dmi('sys_vendor'), value: 'VMware, Inc.', suggests: 'vmware' },
          { source: dmi('product_name'), value: 'VMware20,1', suggests: 'vmware' },
          { source: dmi('bios_vendor'), value: 'VMware, Inc.', suggests: 'vmware' },
          { source: dmi('bios_version'), value: 'VMW201.00V.20192059.B64.2207280713', suggests: 'vmware' },
          { source: dmi('board_vendor'), value: 'Intel Corporation', suggests: '' },
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: VMware', suggests: 'vmware' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'tsc hpet acpi_pm', suggests: '' },
          { source: 'systemd-detect-virt', value: 'vmware', suggests: 'vmware' },
        ],
      },
    ],
    [
      'xen-hvm',
      {
        platform: 'xen',
        evidence: [
          { source: dmi('sys_vendor'), value: 'Xen', suggests: 'xen' },
          { source: dmi('product_name'), value: 'HVM domU', suggests: 'xen' },
          { source: dmi('bios_vendor'), value: 'Xen', suggests: 'xen' },
          { source: dmi('bios_version'), value: '4.11.amazon', suggests: 'xen' },
          { source: '/sys/hypervisor/type', value: 'xen', suggests: 'xen' },
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: Xen HVM', suggests: 'xen' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'xen tsc hpet acpi_pm', suggests: 'xen' },
          { source: 'systemd-detect-virt', value: 'xen', suggests: 'xen' },
        ],
      },
    ],
    [
      'xen-pv',
      {
        platform: 'xen',
        evidence: [
          { source: '/sys/hypervisor/type', value: 'xen', suggests: 'xen' },
          { source: '/proc/xen', value: 'present', suggests: 'xen' },
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: Xen PV', suggests: 'xen' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'xen tsc', suggests: 'xen' },
          { source: 'systemd-detect-virt', value: 'xen', suggests: 'xen' },
        ],
      },
    ],
    [
      'hyperv',
      {
        platform: 'hyperv',
        evidence: [
          { source: dmi('sys_vendor'), value: 'Microsoft Corporation', suggests: 'hyperv' },
          { source: dmi('product_name'), value: 'Virtual Machine', suggests: 'hyperv' },
          { source: dmi('bios_vendor'), value: 'Microsoft Corporation', suggests: 'hyperv' },
          { source: dmi('bios_version'), value: 'Hyper-V UEFI Release v4.1', suggests: 'hyperv' },
          { source: dmi('board_vendor'), value: 'Microsoft Corporation', suggests: 'hyperv' },
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: Microsoft Hyper-V', suggests: 'hyperv' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'hyperv_clocksource_tsc_page acpi_pm', suggests: 'hyperv' },
          { source: 'systemd-detect-virt', value: 'microsoft', suggests: 'hyperv' },
        ],
      },
    ],
    [
      'bare-metal',
      {
        platform: 'native',
        evidence: [
          { source: dmi('sys_vendor'), value: 'Dell Inc.', suggests: '' },
          { source: dmi('product_name'), value: 'PowerEdge R740', suggests: '' },
          { source: dmi('bios_vendor'), value: 'Dell Inc.', suggests: '' },
          { source: dmi('bios_version'), value: '2.19.1', suggests: '' },
          { source: dmi('board_vendor'), value: 'Dell Inc.', suggests: '' },
          { source: 'cpuinfo:flags', value: 'no hypervisor flag', suggests: 'native' },
          { source: 'kernel-log', value: 'no "Hypervisor detected" line in /var/log/dmesg', suggests: '' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'tsc hpet acpi_pm', suggests: '' },
          { source: 'systemd-detect-virt', value: 'none', suggests: 'native' },
        ],
      },
    ],
    [
      'unknown-hypervisor',
      {
        platform: 'other',
        evidence: [
          { source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' },
          { source: 'kernel-log', value: 'Hypervisor detected: ACRN', suggests: 'other' },
          { source: CLOCKSOURCE_AVAILABLE, value: 'tsc', suggests: '' },
          { source: 'systemd-detect-virt', value: 'acrn', suggests: 'other' },
        ],
      },
    ],
  ];

  it.each(cases)('%s: platform and evidence in check order', async (name, expected) => {
    await expect(detectPlatform({ root: fixture(name) })).resolves.toEqual(expected);
  });

  it('runs no command when the root is not the live system', async () => {
    const runCommand = jest.fn(async () => 'kvm');
    await detectPlatform({ root: fixture('qemu-tcg'), runCommand });
    expect(runCommand).not.toHaveBeenCalled();
  });
});

describe('verdict rules', () => {
  const evidenceOf = async (name: string): Promise<Evidence[]> =>
    (await detectPlatform({ root: fixture(name) })).evidence;
  const without = (evidence: Evidence[], ...sources: string[]): Evidence[] =>
    evidence.filter((e) => !sources.includes(e.source));

  it('tells TCG from KVM without systemd-detect-virt: a QEMU machine with no KVM signature is qemu', async () => {
    expect(decidePlatform(without(await evidenceOf('qemu-tcg'), 'systemd-detect-virt'))).toBe('qemu');
  });

  it('takes kvm-clock as KVM when the kernel log and systemd-detect-virt are gone', async () => {
    const evidence = without(await evidenceOf('kvm'), 'kernel-log', 'systemd-detect-virt');
    expect(decidePlatform(evidence)).toBe('kvm');
    expect(decidePlatform(without(evidence, CLOCKSOURCE_AVAILABLE))).toBe('qemu');
  });

  it('finds a Xen PV guest, which has no DMI, from /sys/hypervisor and /proc/xen alone', async () => {
    const evidence = without(await evidenceOf('xen-pv'), 'kernel-log', 'systemd-detect-virt', CLOCKSOURCE_AVAILABLE);
    expect(evidence.map((e) => e.source)).toEqual(['/sys/hypervisor/type', '/proc/xen', 'cpuinfo:flags']);
    expect(decidePlatform(evidence)).toBe('xen');
  });

  it('places VMware, Xen HVM and Hyper-V from DMI when no log or command is available', async () => {
    for (const [name, platform] of [['vmware', 'vmware'], ['xen-hvm', 'xen'], ['hyperv', 'hyperv']] as const) {
      const evidence = without(await evidenceOf(name), 'kernel-log', 'systemd-detect-virt', CLOCKSOURCE_AVAILABLE);
      expect(decidePlatform(without(evidence, '/sys/hypervisor/type'))).toBe(platform);
    }
  });

  it('believes the kernel line over systemd-detect-virt', () => {
    expect(
      decidePlatform([
        { source: 'kernel-log', value: 'Hypervisor detected: KVM', suggests: 'kvm' },
        { source: 'systemd-detect-virt', value: 'qemu', suggests: 'qemu' },
      ]),
    ).toBe('kvm');
  });

  it('calls a VM it cannot name other, not native', async () => {
    const root = makeRoot({ '/proc/cpuinfo': FLAGS_VM });
    await expect(detectPlatform({ root })).resolves.toEqual({
      platform: 'other',
      evidence: [{ source: 'cpuinfo:flags', value: 'hypervisor', suggests: '' }],
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

  it('reads only the current boot of a kern.log that holds an earlier boot under KVM', async () => {
    const root = makeRoot({
      '/var/log/kern.log': [
        'Mar  1 09:00:00 vm kernel: [    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)',
        'Mar  1 09:00:00 vm kernel: [    0.000000] Hypervisor detected: KVM',
        'Mar  2 10:00:00 vm kernel: [    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)',
        'Mar  2 10:00:00 vm kernel: [    0.083412] Booting paravirtualized kernel on bare hardware',
        '',
      ].join('\n'),
    });
    await expect(detectPlatform({ root })).resolves.toEqual({
      platform: 'other',
      evidence: [{ source: 'kernel-log', value: 'no "Hypervisor detected" line in /var/log/kern.log', suggests: '' }],
    });
  });

  it('finds the hypervisor line in syslog and journal formats', () => {
    expect(findHypervisorLine('Mar  2 10:00:00 vm kernel: [    0.000000] Hypervisor detected: KVM\n')).toBe('KVM');
    expect(findHypervisorLine('Linux version 6.1.0\nHypervisor detected: Xen HVM\r\n')).toBe('Xen HVM');
    expect(findHypervisorLine('Booting paravirtualized kernel on bare hardware\n')).toBeUndefined();
  });

  it('on the live root, uses the command runner for systemd-detect-virt --vm and survives a failing runner', async () => {
    const calls: Array<[string, string[]]> = [];
    const detection = await detectPlatform({
      runCommand: async (cmd, args) => {
        calls.push([cmd, args]);
        return cmd === 'systemd-detect-virt' ? 'microsoft\n' : undefined;
      },
    });
    expect(calls).toContainEqual(['systemd-detect-virt', ['--vm']]);
    expect(detection.evidence).toContainEqual({ source: 'systemd-detect-virt', value: 'microsoft', suggests: 'hyperv' });

    const failing = await detectPlatform({
      runCommand: () => {
        throw new Error('spawn failed');
      },
    });
    expect(PLATFORMS).toContain(failing.platform);
    expect(failing.evidence.find((e) => e.source === 'systemd-detect-virt')).toBeUndefined();
  });
});
