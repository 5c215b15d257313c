// Works out which hypervisor (if any) the agent runs under, from the traces each one leaves,
// and keeps every observation so a person can see why, and disagree.
import { isLiveRoot, exists, readHead, readTail, underRoot } from './root-fs';
import { runCommand as runLiveCommand, type RunCommand } from './run-command';
import {
  clocksourceSuggests,
  dmiSuggests,
  kernelHypervisorSuggests,
  systemdSuggests,
  type DmiField,
  type DmiFields,
} from './signatures';
import type { Platform } from '@guestbench/proto';

// The platforms are the protocol's vocabulary (proto/src/vocabulary/platform.ts).
export { isPlatform, PLATFORMS } from '@guestbench/proto';
export type { Platform } from '@guestbench/proto';

/** One observation: where it came from, what was seen there, and what it points to. */
export interface Evidence {
  /** A path below the root (`/sys/class/dmi/id/sys_vendor`), or `cpuinfo:flags`, `kernel-log`, `systemd-detect-virt`. */
  source: string;
  /** What was read, trimmed and at most {@link MAX_VALUE_LENGTH} characters. */
  value: string;
  /** The platform this observation points to on its own, or '' when it points to none. */
  suggests: Platform | '';
}

export interface Detection {
  platform: Platform;
  /** In the order the checks ran. */
  evidence: Evidence[];
}

export interface DetectOptions {
  /**
   * Folder every file is read below: the live system, or an image or fixture tree.
   * Commands run only when this is the live root.
   * @default '/'
   */
  root?: string;
  /**
   * Runs an inspection command and resolves to its standard output, or undefined.
   * Used only when `root` is '/'.
   * @default a runner with a 2 s timeout
   */
  runCommand?: (cmd: string, args: string[]) => Promise<string | undefined>;
}

/** Longest evidence value kept; firmware strings are short, log lines can be anything. */
export const MAX_VALUE_LENGTH = 200;

export const CLOCKSOURCE_AVAILABLE = '/sys/devices/system/clocksource/clocksource0/available_clocksource';

/**
 * Where a fixture tree keeps the captured output of `systemd-detect-virt --vm`, because a tree
 * of files cannot run the command. Read only when `root` is not the live root.
 */
export const FIXTURE_SYSTEMD_DETECT_VIRT = '/.fixture/systemd-detect-virt';

const DMI_FIELDS: readonly DmiField[] = ['sys_vendor', 'product_name', 'bios_vendor', 'bios_version', 'board_vendor'];
const HYPERVISOR_TYPE = '/sys/hypervisor/type';
const PROC_XEN = '/proc/xen';
const PROC_XEN_CAPABILITIES = '/proc/xen/capabilities';
const KERNEL_LOG = 'kernel-log';
const CPU_FLAGS = 'cpuinfo:flags';
const SYSTEMD_DETECT_VIRT = 'systemd-detect-virt';

/**
 * Detects the platform in this fixed order: DMI, /sys/hypervisor/type, /proc/xen,
 * the CPU's hypervisor flag, the kernel's "Hypervisor detected" line, the clocksources, then
 * `systemd-detect-virt`. Never throws; what cannot be read is absent evidence.
 */
export async function detectPlatform(options: DetectOptions = {}): Promise<Detection> {
  const root = options.root ?? '/';
  const live = isLiveRoot(root);
  const run = safeRunner(options.runCommand ?? runLiveCommand);
  try {
    // The checks are independent, so they run together; the evidence keeps the fixed order.
    const groups = await Promise.all([
      dmiEvidence(root),
      hypervisorTypeEvidence(root),
      procXenEvidence(root),
      cpuFlagEvidence(root),
      kernelLogEvidence(root, live ? run : undefined),
      clocksourceEvidence(root),
      systemdEvidence(root, live ? run : undefined),
    ]);
    const evidence = groups.flat();
    return { platform: decidePlatform(evidence), evidence };
  } catch {
    // Every check already turns failure into absence; this only guards against a bug.
    return { platform: 'other', evidence: [] };
  }
}

/**
 * The verdict, from the evidence alone, strongest witness first:
 *
 * 1. The kernel's "Hypervisor detected" line. It comes from the hypervisor's CPUID signature,
 *    which the hypervisor itself sets (DMI strings are whatever the VM's owner configured), and
 *    it is the only witness that tells KVM from QEMU's TCG emulation, which has no signature.
 *    A name guestbench has no platform for (ACRN, Jailhouse, …) gives 'other'.
 * 2. Xen's own interfaces, /sys/hypervisor/type = "xen" and /proc/xen. A Xen PV guest has no
 *    DMI at all, so without a kernel log this is how it is found.
 * 3. `systemd-detect-virt --vm`, which checks CPUID and then DMI with a maintained table.
 *    Its "none" is not used here but in step 6, after the firmware had its say.
 * 4. The paravirtual clocks the kernel registered: kvm-clock exists only when KVM advertises
 *    it, so a QEMU machine with kvm-clock is accelerated by KVM even when the log is gone.
 * 5. DMI: VMware, Xen HVM ("HVM domU"), Hyper-V ("Microsoft Corporation" "Virtual Machine").
 *    QEMU's machines say 'qemu' here, and reaching this step means nothing above saw KVM:
 *    that is QEMU under TCG, where the hypervisor CPU flag may or may not be set.
 * 6. Native: the CPU flags were read and lack "hypervisor", which every hypervisor above sets
 *    (and real vendors' DMI say nothing against it); on CPUs without that flag (arm64),
 *    systemd-detect-virt's "none" is accepted instead.
 * 7. Anything else, including a machine with no readable evidence at all, is 'other'. That is
 *    deliberate: 'native' is the baseline every guest is divided by, so it is claimed only
 *    on evidence; an unplaced result is shown as 'other' and never becomes a baseline.
 */
export function decidePlatform(evidence: readonly Evidence[]): Platform {
  /** The suggestion of the first evidence that passes `test` and points somewhere. */
  const suggested = (test: (e: Evidence) => boolean): Platform | undefined => {
    for (const e of evidence) if (e.suggests !== '' && test(e)) return e.suggests;
    return undefined;
  };
  const isDmi = (e: Evidence): boolean => e.source.startsWith('/sys/class/dmi/id/');
  const systemd = suggested((e) => e.source === SYSTEMD_DETECT_VIRT);

  const verdict =
    suggested((e) => e.source === KERNEL_LOG) ??
    suggested((e) => [HYPERVISOR_TYPE, PROC_XEN, PROC_XEN_CAPABILITIES].includes(e.source)) ??
    (systemd === 'native' ? undefined : systemd) ??
    suggested((e) => e.source === CLOCKSOURCE_AVAILABLE) ??
    // arm64 QEMU names its accelerator in product_name ("KVM Virtual Machine"), beating "QEMU".
    suggested((e) => isDmi(e) && e.suggests === 'kvm') ??
    suggested(isDmi);
  if (verdict !== undefined) return verdict;

  const flags = evidence.find((e) => e.source === CPU_FLAGS);
  if (flags?.suggests === 'native') return 'native';
  if (flags === undefined && systemd === 'native') return 'native';
  return 'other';
}

async function dmiEvidence(root: string): Promise<Evidence[]> {
  const values = await Promise.all(
    DMI_FIELDS.map(async (field) => [field, await readValue(root, `/sys/class/dmi/id/${field}`)] as const),
  );
  const dmi: DmiFields = {};
  for (const [field, value] of values) if (value) dmi[field] = value;
  return values.flatMap(([field, value]) =>
    value ? [{ source: `/sys/class/dmi/id/${field}`, value, suggests: dmiSuggests(field, value, dmi) }] : [],
  );
}

async function hypervisorTypeEvidence(root: string): Promise<Evidence[]> {
  const value = await readValue(root, HYPERVISOR_TYPE);
  if (!value) return [];
  // Only Xen's driver fills this file on x86; another value is a hypervisor we cannot name.
  return [{ source: HYPERVISOR_TYPE, value, suggests: value === 'xen' ? 'xen' : 'other' }];
}

async function procXenEvidence(root: string): Promise<Evidence[]> {
  // xenfs, mounted on /proc/xen, exists only in a Xen domain. Its capabilities file is empty
  // in a guest (domU) and says "control_d" in dom0, which is itself a Xen PV/PVH domain.
  if (!(await exists(underRoot(root, PROC_XEN)))) return [];
  const evidence: Evidence[] = [{ source: PROC_XEN, value: 'present', suggests: 'xen' }];
  const capabilities = await readValue(root, PROC_XEN_CAPABILITIES);
  if (capabilities) evidence.push({ source: PROC_XEN_CAPABILITIES, value: capabilities, suggests: 'xen' });
  return evidence;
}

async function cpuFlagEvidence(root: string): Promise<Evidence[]> {
  // The first processor block is enough: the hypervisor bit (CPUID.1:ECX[31]) is per machine.
  const cpuinfo = await readHead(underRoot(root, '/proc/cpuinfo'), 64 * 1024);
  const flags = cpuinfo === undefined ? undefined : parseCpuFlags(cpuinfo);
  // No x86 "flags" line (arm64 says "Features"), so the flag's absence proves nothing.
  if (flags === undefined) return [];
  return flags.includes('hypervisor')
    ? [{ source: CPU_FLAGS, value: 'hypervisor', suggests: '' }]
    : [{ source: CPU_FLAGS, value: 'no hypervisor flag', suggests: 'native' }];
}

/** The flags of the first x86 processor block of /proc/cpuinfo, or undefined if it has none. */
export function parseCpuFlags(cpuinfo: string): string[] | undefined {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return line?.[1]?.trim().split(/\s+/).filter((f) => f.length > 0);
}

interface KernelLogSource {
  name: string;
  read: () => Promise<string | undefined>;
}

async function kernelLogEvidence(root: string, run: RunCommand | undefined): Promise<Evidence[]> {
  // Files first: they need no privilege, whereas dmesg is refused to users when
  // kernel.dmesg_restrict=1 (Debian's default). kern.log spans many boots, so its tail is read.
  const sources: KernelLogSource[] = [
    { name: '/var/log/dmesg', read: () => readHead(underRoot(root, '/var/log/dmesg'), 2 * 1024 * 1024) },
    { name: '/var/log/kern.log', read: () => readTail(underRoot(root, '/var/log/kern.log')) },
  ];
  if (run !== undefined) {
    sources.push(
      { name: 'dmesg', read: () => run('dmesg', []) },
      { name: 'journalctl -k', read: () => run('journalctl', ['-k', '-b', '-q', '-o', 'cat', '--no-pager']) },
    );
  }
  const searched: string[] = [];
  for (const source of sources) {
    const text = await source.read();
    if (text === undefined || text.trim() === '') continue;
    searched.push(source.name);
    const name = findHypervisorLine(text);
    if (name !== undefined) {
      return [{ source: KERNEL_LOG, value: clean(`Hypervisor detected: ${name}`), suggests: kernelHypervisorSuggests(name) }];
    }
  }
  if (searched.length === 0) return [];
  // A log was read and has no such line: bare metal, TCG, or a log that lost its boot lines.
  return [{ source: KERNEL_LOG, value: `no "Hypervisor detected" line in ${searched.join(', ')}`, suggests: '' }];
}

/**
 * The NAME of the current boot's "Hypervisor detected: NAME" line, or undefined. Only text
 * after the last "Linux version" banner counts, so that a kern.log written while the same
 * disk image ran under another hypervisor does not speak for this boot.
 */
export function findHypervisorLine(log: string): string | undefined {
  const banner = log.lastIndexOf('Linux version ');
  const boot = banner >= 0 ? log.slice(banner) : log;
  const match = /Hypervisor detected: ([^\r\n]*)/.exec(boot);
  const name = match?.[1]?.trim();
  return name ? name : undefined;
}

async function clocksourceEvidence(root: string): Promise<Evidence[]> {
  const value = await readValue(root, CLOCKSOURCE_AVAILABLE);
  if (!value) return [];
  return [{ source: CLOCKSOURCE_AVAILABLE, value, suggests: clocksourceSuggests(value.split(/\s+/)) }];
}

async function systemdEvidence(root: string, run: RunCommand | undefined): Promise<Evidence[]> {
  // --vm: inside a container on a VM the plain command names the container ("docker").
  const output =
    run !== undefined
      ? await run('systemd-detect-virt', ['--vm'])
      : await readHead(underRoot(root, FIXTURE_SYSTEMD_DETECT_VIRT), 4 * 1024);
  const id = output === undefined ? '' : clean(output.split('\n')[0] ?? '');
  if (id === '') return [];
  return [{ source: SYSTEMD_DETECT_VIRT, value: id, suggests: systemdSuggests(id) }];
}

/** Reads a small text file below the root: trimmed, bounded, and '' or undefined when unusable. */
async function readValue(root: string, systemPath: string): Promise<string | undefined> {
  const text = await readHead(underRoot(root, systemPath), 4 * 1024);
  return text === undefined ? undefined : clean(text);
}

/** Trims, turns control characters into spaces, and bounds the length. */
function clean(text: string): string {
  const value = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return value.length <= MAX_VALUE_LENGTH ? value : `${value.slice(0, MAX_VALUE_LENGTH - 1)}…`;
}

/** A caller's runner may throw or reject; either is the same as no output. */
function safeRunner(run: RunCommand): RunCommand {
  return async (cmd, args) => {
    try {
      return await run(cmd, args);
    } catch {
      return undefined;
    }
  };
}
