// What the host offers the lab: the accelerator (KVM when /dev/kvm is usable, else TCG) and the
// versions of the pieces that shape a guest's results, recorded with every run.
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { release } from 'node:os';

export interface Accelerator {
  readonly accelerator: 'kvm' | 'tcg';
  /** libvirt domain type. */
  readonly domainType: 'kvm' | 'qemu';
  /** Why KVM is not used (undefined under KVM). */
  readonly whyNotKvm: string | undefined;
}

/**
 * KVM when /dev/kvm opens read-write and is backed by kvm_intel or kvm_amd (a PVM /dev/kvm only
 * runs PVM-enabled guest kernels); TCG otherwise.
 */
export function detectAccelerator(devKvm = '/dev/kvm', sysModule = '/sys/module'): Accelerator {
  let why: string | undefined;
  try {
    closeSync(openSync(devKvm, 'r+'));
    if (!existsSync(`${sysModule}/kvm_intel`) && !existsSync(`${sysModule}/kvm_amd`)) why = `${devKvm} is not backed by kvm_intel or kvm_amd`;
  } catch (err: unknown) {
    why = `${devKvm}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  return why === undefined ? { accelerator: 'kvm', domainType: 'kvm', whyNotKvm: undefined } : { accelerator: 'tcg', domainType: 'qemu', whyNotKvm: why };
}

export interface HostVersions {
  readonly kernel: string;
  readonly qemu: string;
  readonly libvirt: string;
}

function output(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 15_000 }, (err, stdout) => resolve(err === null ? stdout : ''));
  });
}

/** Kernel, QEMU and libvirt versions as `virsh version` reports them ("" when unknown). */
export async function hostVersions(uri: string): Promise<HostVersions> {
  const text = await output('virsh', ['-c', uri, 'version']);
  const qemu =
    /Running hypervisor: QEMU (\S+)/.exec(text)?.[1] ?? /QEMU emulator version (\S+)/.exec(await output('qemu-system-x86_64', ['--version']))?.[1] ?? '';
  const libvirt = /Using library: libvirt (\S+)/.exec(text)?.[1] ?? '';
  return { kernel: release(), qemu, libvirt };
}
