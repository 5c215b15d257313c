// What machine a result came from: CPU, memory, kernel, OS and clocksource, stored with each
// run so that results can be compared like for like. The hypervisor is detection's business.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import { parseCpuFlags } from './detect-platform';
import { readHead, underRoot } from './root-fs';

export interface Inventory {
  hostname: string;
  /** e.g. "Intel Xeon Gold 6248R", as the CPU names itself. */
  cpuModel: string;
  /** Logical CPUs the system has. */
  cpus: number;
  memoryBytes: number;
  /** Kernel release, as `uname -r` prints it. */
  kernel: string;
  /** Distribution and release, e.g. "Debian GNU/Linux 12". */
  os: string;
  /** Machine architecture, as `uname -m` prints it (x86_64, aarch64). */
  arch: string;
  /** The clocksource in use; '' when unknown. Clock reads cost very different amounts per source. */
  clocksource: string;
  /** The CPU flags, space-separated, as /proc/cpuinfo lists them (x86 "flags", arm64 "Features"). */
  cpuFlags: string;
  /**
   * From the firmware's DMI tables; '' when there are none (e.g. a Xen PV guest). This is where
   * the vendor of a KVM-based cloud stays ("Amazon EC2", "Google") while its platform is kvm.
   */
  systemVendor: string;
  systemModel: string;
  nodeVersion: string;
}

export interface InventoryOptions {
  /**
   * Folder the files guestbench reads itself (clocksource, DMI) are read below. What comes from
   * systeminformation always describes the live system.
   * @default '/'
   */
  root?: string;
}

const CURRENT_CLOCKSOURCE = '/sys/devices/system/clocksource/clocksource0/current_clocksource';

/** The longest any systeminformation call may take; a late answer counts as none. */
const CALL_TIMEOUT_MS = 1_500;

/** Collects the inventory of the live system. Never throws; what fails is filled from `node:os` or left empty. */
export async function collectInventory(options: InventoryOptions = {}): Promise<Inventory> {
  const root = options.root ?? '/';
  const [osInfo, cpu, mem, system, cpuFlags, dmiVendor, dmiModel] = await Promise.all([
    settle(() => si.osInfo()),
    settle(() => si.cpu()),
    settle(() => si.mem()),
    settle(() => si.system()),
    readCpuFlags(root),
    readDmi(root, 'sys_vendor'),
    readDmi(root, 'product_name'),
  ]);
  const firstCpu = os.cpus()[0];
  return {
    hostname: nonEmpty(osInfo?.hostname) ?? os.hostname(),
    // The kernel's "model name" first: systeminformation sometimes takes the SMBIOS
    // processor version instead, which under QEMU is the machine type ("pc-q35-7.2").
    cpuModel: nonEmpty(firstCpu?.model.trim()) ?? nonEmpty(joinWords(cpu?.manufacturer, cpu?.brand)) ?? '',
    cpus: positive(cpu?.cores) ?? os.availableParallelism(),
    memoryBytes: positive(mem?.total) ?? os.totalmem(),
    kernel: nonEmpty(osInfo?.kernel) ?? os.release(),
    os: nonEmpty(joinWords(osInfo?.distro, osInfo?.release)) ?? os.type(),
    arch: os.machine(),
    clocksource: readClocksource(root),
    cpuFlags,
    // The firmware's own words first; systeminformation adds what it finds elsewhere (dmidecode,
    // a Raspberry Pi's cpuinfo, WSL), but its placeholders are not a model.
    systemVendor: dmiVendor ?? nonEmpty(system?.manufacturer) ?? '',
    systemModel: dmiModel ?? nonEmpty(withoutPlaceholder(system?.model)) ?? '',
    nodeVersion: process.version,
  };
}

/**
 * The clocksource in use, from current_clocksource below `root`; '' when unreadable.
 * Synchronous, like the /proc/stat reads beside it, so a benchmark can sample it cheaply.
 */
export function readClocksource(root = '/'): string {
  try {
    return fs.readFileSync(path.join(root, CURRENT_CLOCKSOURCE), 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The CPU flags from /proc/cpuinfo below `root`, the way the kernel lists them. Not from
 * systeminformation: it runs `lscpu`, which a minimal guest may lack and which under TCG can
 * outlast the call timeout, and its fallback reads an x86 /proc/cpuinfo's "features" key, which
 * only arm64 has, so a TCG guest got "".
 */
export async function readCpuFlags(root = '/'): Promise<string> {
  const cpuinfo = await readHead(underRoot(root, '/proc/cpuinfo'), 64 * 1024);
  if (cpuinfo === undefined) return '';
  const flags = parseCpuFlags(cpuinfo) ?? /^Features\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/);
  return (flags ?? []).filter((f) => f !== '').join(' ');
}

async function readDmi(root: string, field: 'sys_vendor' | 'product_name'): Promise<string | undefined> {
  const text = await readHead(underRoot(root, `/sys/class/dmi/id/${field}`), 256);
  return nonEmpty(text?.trim());
}

/** Runs one systeminformation call; a rejection or a late answer is undefined. */
async function settle<T>(call: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, CALL_TIMEOUT_MS, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([call(), timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * systeminformation's stand-ins when it has no model: "Computer", and guesses that overwrite the
 * model, "Docker Container" (when /.dockerenv exists) and "Virtual machine" (from dmesg).
 */
const PLACEHOLDER_MODELS: ReadonlySet<string> = new Set(['Computer', 'Docker Container', 'Virtual machine']);

function withoutPlaceholder(model: string | undefined): string | undefined {
  return model !== undefined && PLACEHOLDER_MODELS.has(model.trim()) ? undefined : model;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s.trim() : undefined;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

function joinWords(...words: (string | undefined)[]): string {
  return words.filter((w) => w !== undefined && w.trim() !== '').join(' ');
}
