// Works out which hypervisor (if any) the agent runs under, from the traces each one leaves,
// and keeps every observation so a person can see why, and disagree.
import { exists, isLiveRoot, modifiedAt, readHeadResult, readTail, underRoot, type ReadResult } from './root-fs';
import { runCommand as runLiveCommand, type CommandOutcome, type RunCommand } from './run-command';
import { Deadline } from './run-process';
import {
  FOREIGN_INTERFACES,
  VENDOR_PLATFORM,
  clocksourceSuggests,
  dmiSuggests,
  dmiVendor,
  isQemuCpuModel,
  kernelHypervisorSuggests,
  systemdSuggests,
  type DmiField,
  type DmiFields,
  type Vendor,
} from './signatures';
import type { Platform } from '@guestbench/proto';

// The platforms are the protocol's vocabulary (proto/src/vocabulary/platform.ts).
export { isPlatform, PLATFORMS } from '@guestbench/proto';
export type { Platform } from '@guestbench/proto';

/** One observation: where it came from, what was seen there, and what it points to. */
export interface Evidence {
  /**
   * The file (`/sys/class/dmi/id/sys_vendor`, `/proc/cpuinfo`, `/dev/kmsg`, `/var/log/dmesg`) or
   * the command line as run (`/usr/bin/dmesg`, `/usr/bin/systemd-detect-virt --vm`).
   */
  source: string;
  /**
   * What was read, trimmed and at most {@link MAX_VALUE_LENGTH} characters; for a witness that
   * could not be used, why (`unreadable: EPERM`, `exit 1: dmesg: read kernel buffer failed: …`,
   * `not this boot: …`).
   */
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
   * Runs an inspection command. Used only when `root` is '/'.
   * @default {@link runLiveCommand}: PATH then the system folders, group kill at the deadline
   */
  runCommand?: RunCommand;
  /**
   * Time all inspection commands of one detection may take together.
   * @default 3000
   */
  budgetMs?: number;
}

/** Longest evidence value kept; firmware strings are short, log lines can be anything. */
export const MAX_VALUE_LENGTH = 200;

/** What all of detection's commands may take together, however many run. */
export const DETECT_BUDGET_MS = 3_000;

export const CLOCKSOURCE_AVAILABLE = '/sys/devices/system/clocksource/clocksource0/available_clocksource';

/**
 * Where a fixture tree keeps the captured output of `systemd-detect-virt --vm`, because a tree
 * of files cannot run the command. Read only when `root` is not the live root.
 */
export const FIXTURE_SYSTEMD_DETECT_VIRT = '/.fixture/systemd-detect-virt';

const DMI_DIR = '/sys/class/dmi/id/';
const DMI_FIELDS: readonly DmiField[] = ['sys_vendor', 'product_name', 'bios_vendor', 'bios_version', 'board_vendor'];
const HYPERVISOR_TYPE = '/sys/hypervisor/type';
const PROC_XEN = '/proc/xen';
const PROC_XEN_CAPABILITIES = '/proc/xen/capabilities';
const CPUINFO = '/proc/cpuinfo';
const KMSG = '/dev/kmsg';
const PROC_VERSION = '/proc/version';
const PROC_STAT = '/proc/stat';
/** Log files kept on disk; they may hold an earlier boot, or another machine's (a cloned image). */
const LOG_FILES = ['/var/log/dmesg', '/var/log/kern.log'] as const;
const HYPERVISOR_LINE = 'Hypervisor detected: ';
const SYSTEMD_COMMAND = 'systemd-detect-virt --vm';

/** The kinds of witness, strongest first; see {@link decidePlatform}. */
export type Witness = 'kernel' | 'xen' | 'dmi' | 'cpu' | 'clocksource' | 'systemd';

/** Which kind of witness an evidence line is, from its source. */
export function witnessOf(e: Evidence): Witness {
  if (e.source.startsWith(DMI_DIR)) return 'dmi';
  if (e.source === HYPERVISOR_TYPE || e.source === PROC_XEN || e.source === PROC_XEN_CAPABILITIES) return 'xen';
  if (e.source === CPUINFO) return 'cpu';
  if (e.source === CLOCKSOURCE_AVAILABLE) return 'clocksource';
  if (e.source.includes('systemd-detect-virt')) return 'systemd';
  return 'kernel';
}

/**
 * Detects the platform from the witnesses in the order of {@link decidePlatform}. Never throws;
 * a witness that cannot be read says why in the evidence, and is otherwise absent.
 */
export async function detectPlatform(options: DetectOptions = {}): Promise<Detection> {
  const root = options.root ?? '/';
  const live = isLiveRoot(root);
  const deadline = new Deadline(options.budgetMs ?? DETECT_BUDGET_MS);
  const run = live ? safeRunner(options.runCommand ?? runLiveCommand, deadline) : undefined;
  try {
    // DMI first, because a log file on disk is checked against it; the rest run together, and
    // the evidence keeps the order of the witnesses.
    const dmi = await dmiEvidence(root);
    const groups = await Promise.all([
      kernelLogEvidence(root, run, dmi),
      xenEvidence(root),
      cpuEvidence(root),
      clocksourceEvidence(root),
      systemdEvidence(root, run),
    ]);
    const [kernel, xen, cpu, clock, systemd] = groups;
    const evidence = [...kernel, ...xen, ...dmi, ...cpu, ...clock, ...systemd];
    return { platform: decidePlatform(evidence), evidence };
  } catch {
    // Every check already turns failure into evidence or absence; this only guards against a bug.
    return { platform: 'other', evidence: [] };
  }
}

/**
 * The verdict, from the evidence alone. The witnesses, strongest first:
 *
 * 1. The live kernel's "Hypervisor detected: NAME" line (from /dev/kmsg, `dmesg`, `journalctl
 *    -k -b`, or a log file proven to be of this boot). The kernel chose NAME from the CPUID
 *    signature the hypervisor sets, so it beats everything an owner can configure. One
 *    exception: NAME is the paravirtual interface offered, and VirtualBox offers KVM's (and
 *    Hyper-V's); when DMI names a vendor known to offer that interface, the vendor wins.
 * 2. Xen's own interfaces, /sys/hypervisor/type = "xen" and /proc/xen (a Xen PV guest has no DMI).
 * 3. DMI vendor strings. A QEMU machine is 'kvm' when a KVM witness (kernel line, kvm-clock,
 *    systemd's "kvm") is there and 'qemu' (TCG) otherwise; Amazon EC2 (Nitro) and Google are
 *    'kvm'. Strings can be borrowed (`-smbios`), so a vendor is not believed when a witness
 *    the hypervisor sets contradicts it: a QEMU CPU model, or a paravirtual clock the vendor
 *    does not offer.
 * 4. The CPU model: QEMU's emulated CPU names mean a QEMU machine, 'kvm' or 'qemu' as above.
 * 5. The clocksource: Hyper-V's and Xen's clocks name their hypervisor. kvm-clock alone names
 *    no vendor (PVM and VirtualBox offer it too) and decides nothing by itself.
 * 6. `systemd-detect-virt --vm`: its id, with "amazon" and "google" as 'kvm'.
 * 7. Native: the CPU flags were read and lack "hypervisor", and no witness above points to a
 *    hypervisor; on CPUs without that flag (arm64), systemd's "none" is accepted instead.
 * 8. Anything else is 'other': 'native' is the baseline every guest is divided by, so it is
 *    claimed only on evidence, and a machine whose witnesses cannot be read is never native.
 *
 * The order is chosen so that what an unprivileged user can read (DMI, /sys, /proc/cpuinfo,
 * the clocksource) gives the same verdict as the privileged witnesses for every machine kind
 * in the test fixtures.
 */
export function decidePlatform(evidence: readonly Evidence[]): Platform {
  const of = (w: Witness): Evidence[] => evidence.filter((e) => witnessOf(e) === w);
  const firstSuggestion = (w: Witness): Platform | undefined => of(w).find((e) => e.suggests !== '')?.suggests || undefined;

  const kernel = of('kernel').find((e) => e.value.startsWith(HYPERVISOR_LINE) && e.suggests !== '');
  const vendor = dmiVendorOf(evidence);
  const cpuQemu = of('cpu').some((e) => e.suggests === 'qemu');
  const clock = firstSuggestion('clocksource');
  const systemd = firstSuggestion('systemd');
  const kvmWitness = kernel?.suggests === 'kvm' || clock === 'kvm' || systemd === 'kvm';
  const qemuMachine = (): Platform => (kvmWitness ? 'kvm' : 'qemu');
  const offers = (v: Vendor, iface: Platform): boolean => (FOREIGN_INTERFACES[v] ?? []).includes(iface);

  // 1. The live kernel.
  if (kernel !== undefined && kernel.suggests !== '') {
    if (vendor !== undefined && offers(vendor, kernel.suggests)) return VENDOR_PLATFORM[vendor];
    return kernel.suggests;
  }
  // 2. Xen's interfaces.
  if (of('xen').some((e) => e.suggests === 'xen')) return 'xen';
  // 3. DMI, unless contradicted by what the hypervisor itself sets.
  if (vendor !== undefined) {
    const platform = VENDOR_PLATFORM[vendor];
    if (platform === 'qemu') return qemuMachine();
    const contradicted = cpuQemu || (clock !== undefined && clock !== platform && !offers(vendor, clock));
    if (!contradicted) return platform;
  }
  // 4. The CPU model.
  if (cpuQemu) return qemuMachine();
  // 5. The clocksource, where it names a vendor.
  if (clock === 'hyperv' || clock === 'xen') return clock;
  // 6. systemd-detect-virt.
  if (systemd !== undefined && systemd !== 'native') return systemd;
  // 7. Native, only when nothing points to a hypervisor.
  const pointsToVm = evidence.some((e) => e.suggests !== '' && e.suggests !== 'native');
  if (pointsToVm) return 'other';
  const flags = of('cpu').find((e) => e.value.startsWith('flags: '));
  if (flags?.suggests === 'native') return 'native';
  const cpuUnreadable = of('cpu').some((e) => e.value.startsWith('unreadable: '));
  if (flags === undefined && !cpuUnreadable && systemd === 'native') return 'native';
  return 'other';
}

/** The vendor DMI names: the first field, in reading order, that names one. */
function dmiVendorOf(evidence: readonly Evidence[]): Vendor | undefined {
  const dmi: DmiFields = {};
  const fields: Array<[DmiField, string]> = [];
  for (const e of evidence) {
    if (!e.source.startsWith(DMI_DIR) || e.value.startsWith('unreadable: ')) continue;
    const field = e.source.slice(DMI_DIR.length) as DmiField;
    if (!DMI_FIELDS.includes(field)) continue;
    dmi[field] = e.value;
    fields.push([field, e.value]);
  }
  for (const [field, value] of fields) {
    const vendor = dmiVendor(field, value, dmi);
    if (vendor !== undefined) return vendor;
  }
  return undefined;
}

async function dmiEvidence(root: string): Promise<Evidence[]> {
  const values = await Promise.all(DMI_FIELDS.map(async (field) => [field, await readValue(root, `${DMI_DIR}${field}`)] as const));
  const dmi: DmiFields = {};
  for (const [field, value] of values) if (value !== undefined && 'text' in value && value.text !== '') dmi[field] = value.text;
  return values.flatMap(([field, value]): Evidence[] => {
    const source = `${DMI_DIR}${field}`;
    if (value === undefined) return [];
    if ('error' in value) return [{ source, value: `unreadable: ${value.error}`, suggests: '' }];
    return value.text === '' ? [] : [{ source, value: value.text, suggests: dmiSuggests(field, value.text, dmi) }];
  });
}

async function xenEvidence(root: string): Promise<Evidence[]> {
  const evidence: Evidence[] = [];
  const type = await readValue(root, HYPERVISOR_TYPE);
  if (type !== undefined) {
    // Only Xen's driver fills this file on x86; another value is a hypervisor we cannot name.
    if ('error' in type) evidence.push({ source: HYPERVISOR_TYPE, value: `unreadable: ${type.error}`, suggests: '' });
    else if (type.text !== '') evidence.push({ source: HYPERVISOR_TYPE, value: type.text, suggests: type.text === 'xen' ? 'xen' : 'other' });
  }
  // xenfs, mounted on /proc/xen, exists only in a Xen domain. Its capabilities file is empty
  // in a guest (domU) and says "control_d" in dom0, which is itself a Xen PV/PVH domain.
  if (!(await exists(underRoot(root, PROC_XEN)))) return evidence;
  evidence.push({ source: PROC_XEN, value: 'present', suggests: 'xen' });
  const capabilities = await readValue(root, PROC_XEN_CAPABILITIES);
  if (capabilities !== undefined && 'text' in capabilities && capabilities.text !== '') {
    evidence.push({ source: PROC_XEN_CAPABILITIES, value: capabilities.text, suggests: 'xen' });
  }
  return evidence;
}

async function cpuEvidence(root: string): Promise<Evidence[]> {
  // The first processor block is enough: model and hypervisor bit (CPUID.1:ECX[31]) are per machine.
  const read = await readHeadResult(underRoot(root, CPUINFO), 64 * 1024);
  if ('error' in read) return read.error === 'ENOENT' ? [] : [{ source: CPUINFO, value: `unreadable: ${read.error}`, suggests: '' }];
  const evidence: Evidence[] = [];
  const model = /^model name\s*:(.*)$/m.exec(read.text)?.[1]?.trim();
  if (model) evidence.push({ source: CPUINFO, value: clean(`model name: ${model}`), suggests: isQemuCpuModel(model) ? 'qemu' : '' });
  const flags = parseCpuFlags(read.text);
  // No x86 "flags" line (arm64 says "Features"), so the flag's absence proves nothing there.
  if (flags !== undefined) {
    evidence.push(
      flags.includes('hypervisor')
        ? { source: CPUINFO, value: 'flags: hypervisor', suggests: '' }
        : { source: CPUINFO, value: 'flags: no hypervisor flag', suggests: 'native' },
    );
  }
  return evidence;
}

/** The flags of the first x86 processor block of /proc/cpuinfo, or undefined if it has none. */
export function parseCpuFlags(cpuinfo: string): string[] | undefined {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return line?.[1]
    ?.trim()
    .split(/\s+/)
    .filter((f) => f.length > 0);
}

/** One place the kernel's messages can be read from, and whether it can only hold this boot. */
interface KernelSource {
  readonly name: string;
  readonly read: () => Promise<SourceRead | undefined>;
}

/** What one source gave; `name` replaces the source's name (a command's resolved path). */
type SourceRead = ({ text: string } | { failure: string }) & { name?: string };

/**
 * The kernel log, strongest first: the live ring buffer (/dev/kmsg without a command, then
 * `dmesg`, then the journal of this boot), then the files on disk, which are believed only when
 * they are shown to belong to this boot. Each source that fails says so; the first one read
 * that reaches back to the boot banner decides.
 */
async function kernelLogEvidence(root: string, run: BoundRunner | undefined, dmi: readonly Evidence[]): Promise<Evidence[]> {
  const fromCommand = (outcome: CommandOutcome): SourceRead =>
    outcome.ok ? { text: outcome.stdout, name: outcome.command } : { failure: outcome.reason, name: outcome.command };
  const sources: KernelSource[] = [{ name: KMSG, read: async () => fromRead(await readHeadResult(underRoot(root, KMSG), 2 * 1024 * 1024, true)) }];
  if (run !== undefined) {
    sources.push(
      { name: 'dmesg', read: async () => fromCommand(await run('dmesg', [])) },
      { name: 'journalctl -k -b', read: async () => fromCommand(await run('journalctl', ['-k', '-b', '-q', '-o', 'cat', '--no-pager'])) },
    );
  }
  for (const file of LOG_FILES) {
    sources.push({ name: file, read: async () => currentBootLog(root, file, dmi) });
  }

  const evidence: Evidence[] = [];
  for (const source of sources) {
    const result = await source.read();
    if (result === undefined) continue;
    const name = result.name ?? source.name;
    if ('failure' in result) {
      evidence.push({ source: name, value: clean(result.failure), suggests: '' });
      continue;
    }
    const boot = currentBoot(result.text);
    const line = findHypervisorLine(result.text);
    if (line !== undefined) {
      evidence.push({ source: name, value: clean(`${HYPERVISOR_LINE}${line}`), suggests: kernelHypervisorSuggests(line) });
      return evidence;
    }
    if (boot.hasBanner) {
      // Read from the boot on, and no such line: bare metal, TCG, or a hypervisor without a signature.
      evidence.push({ source: name, value: 'no "Hypervisor detected" line in this boot', suggests: '' });
      return evidence;
    }
    // A ring buffer that wrapped no longer holds the boot messages; a later source may.
    evidence.push({ source: name, value: 'no "Hypervisor detected" line, and the log no longer reaches back to boot', suggests: '' });
  }
  return evidence;
}

function fromRead(read: ReadResult): { text: string } | { failure: string } | undefined {
  if ('text' in read) return read.text.trim() === '' ? undefined : { text: read.text };
  return read.error === 'ENOENT' ? undefined : { failure: `unreadable: ${read.error}` };
}

/**
 * A log file's text when it is shown to belong to this boot, a failure saying why it is not
 * used, or undefined when there is no such file. It must have been written since the boot
 * (btime of /proc/stat), its last kernel banner must be the running kernel's (/proc/version),
 * and the DMI line after it, if any, must name the firmware sysfs shows now: an image cloned
 * from another machine carries that machine's log.
 */
async function currentBootLog(root: string, file: string, dmi: readonly Evidence[]): Promise<{ text: string } | { failure: string } | undefined> {
  const path = underRoot(root, file);
  const probe = await readHeadResult(path, 1);
  if ('error' in probe) return probe.error === 'ENOENT' || probe.error === 'ENOTDIR' ? undefined : { failure: `unreadable: ${probe.error}` };
  // kern.log spans many boots, this one at its end.
  const read = (await readTail(path, 4 * 1024 * 1024)) ?? '';
  if (read.trim() === '') return undefined;
  const [version, stat, mtime] = await Promise.all([
    readHeadResult(underRoot(root, PROC_VERSION), 4 * 1024),
    readHeadResult(underRoot(root, PROC_STAT), 64 * 1024),
    modifiedAt(path),
  ]);
  const btime = 'text' in stat ? Number(/^btime\s+(\d+)$/m.exec(stat.text)?.[1]) : NaN;
  if ('error' in version || !Number.isFinite(btime) || mtime === undefined) {
    return { failure: 'not used: cannot tell whether it is of this boot (/proc/version or /proc/stat unreadable)' };
  }
  if (mtime < btime * 1000) return { failure: 'not this boot: last written before this boot began' };
  const boot = currentBoot(read);
  if (!boot.hasBanner) return { failure: 'not used: holds no kernel banner of this boot' };
  const banner = (boot.text.split('\n')[0] ?? '').trim();
  if (banner !== version.text.trim().replace(/^Linux version /, '')) {
    return { failure: 'not this boot: its kernel banner differs from /proc/version' };
  }
  const logDmi = /\bDMI: ([^\r\n]*)/.exec(boot.text)?.[1]?.trim();
  const vendor = dmi.find((e) => e.source === `${DMI_DIR}sys_vendor` && !e.value.startsWith('unreadable: '))?.value;
  if (logDmi !== undefined && vendor !== undefined && !logDmi.startsWith(vendor)) {
    return { failure: clean(`not this boot: its firmware line "DMI: ${logDmi}" is not this machine's "${vendor}"`) };
  }
  return { text: `Linux version ${boot.text}` };
}

/** The text from the last "Linux version " banner on (the banner itself without that prefix). */
function currentBoot(log: string): { text: string; hasBanner: boolean } {
  const banner = log.lastIndexOf('Linux version ');
  return banner >= 0 ? { text: log.slice(banner + 'Linux version '.length), hasBanner: true } : { text: log, hasBanner: false };
}

/**
 * The NAME of the current boot's "Hypervisor detected: NAME" line, or undefined. Only text
 * after the last "Linux version" banner counts, so that an earlier boot in the same log does
 * not speak for this one.
 */
export function findHypervisorLine(log: string): string | undefined {
  const match = /Hypervisor detected: ([^\r\n]*)/.exec(currentBoot(log).text);
  const name = match?.[1]?.trim();
  return name ? name : undefined;
}

async function clocksourceEvidence(root: string): Promise<Evidence[]> {
  const value = await readValue(root, CLOCKSOURCE_AVAILABLE);
  if (value === undefined) return [];
  if ('error' in value) return [{ source: CLOCKSOURCE_AVAILABLE, value: `unreadable: ${value.error}`, suggests: '' }];
  if (value.text === '') return [];
  return [{ source: CLOCKSOURCE_AVAILABLE, value: value.text, suggests: clocksourceSuggests(value.text.split(/\s+/)) }];
}

async function systemdEvidence(root: string, run: BoundRunner | undefined): Promise<Evidence[]> {
  // --vm: inside a container on a VM the plain command names the container ("docker").
  if (run === undefined) {
    const captured = await readValue(root, FIXTURE_SYSTEMD_DETECT_VIRT);
    if (captured === undefined || 'error' in captured || captured.text === '') return [];
    const id = captured.text.split(' ')[0] ?? '';
    return [{ source: `${SYSTEMD_COMMAND} (captured in ${FIXTURE_SYSTEMD_DETECT_VIRT})`, value: id, suggests: systemdSuggests(id) }];
  }
  const outcome = await run('systemd-detect-virt', ['--vm']);
  const source = outcome.command;
  if (!outcome.ok) return [{ source, value: clean(outcome.reason), suggests: '' }];
  const id = clean(outcome.stdout.split('\n')[0] ?? '');
  return id === '' ? [] : [{ source, value: id, suggests: systemdSuggests(id) }];
}

/** Reads a small text file below the root: trimmed and bounded; undefined when it does not exist. */
async function readValue(root: string, systemPath: string): Promise<{ text: string } | { error: string } | undefined> {
  const read = await readHeadResult(underRoot(root, systemPath), 4 * 1024);
  if ('error' in read) return read.error === 'ENOENT' || read.error === 'ENOTDIR' ? undefined : read;
  return { text: clean(read.text) };
}

/** Trims, turns control characters into spaces, and bounds the length. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const value = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return value.length <= MAX_VALUE_LENGTH ? value : `${value.slice(0, MAX_VALUE_LENGTH - 1)}…`;
}

type BoundRunner = (cmd: string, args: readonly string[]) => Promise<CommandOutcome>;

/** Binds the deadline, and turns a runner that throws or rejects into a failed outcome. */
function safeRunner(run: RunCommand, deadline: Deadline): BoundRunner {
  return async (cmd, args) => {
    try {
      return await run(cmd, args, deadline);
    } catch (err) {
      return { ok: false, command: [cmd, ...args].join(' '), reason: `failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}
