// The strings real hypervisors leave in firmware tables, sysfs and the kernel log, and the
// platform each one points to. Kept apart from the detection flow so they can grow alone.
import type { Platform } from './detect-platform';

/** The DMI identity fields detection reads, in the order it reads them. */
export interface DmiFields {
  sys_vendor?: string;
  product_name?: string;
  bios_vendor?: string;
  bios_version?: string;
  board_vendor?: string;
}

export type DmiField = keyof DmiFields;

/**
 * QEMU's own machine names, also when a distribution renames the machine type,
 * e.g. "Standard PC (Q35 + ICH9, 2009)" or "RHEL 7.6.0 PC (i440FX + PIIX, 1996)".
 */
const QEMU_MACHINE = /\((?:i440FX \+ PIIX|Q35 \+ ICH9), \d{4}\)/;

/**
 * What one DMI field suggests. Fields are judged together because the same vendor string
 * means different things: "Microsoft Corporation" is Hyper-V only with the product
 * "Virtual Machine" (a Surface laptop says "Microsoft Corporation" too, on bare metal).
 *
 * A QEMU machine suggests 'qemu' whatever the accelerator: the firmware tables are QEMU's
 * under KVM and under TCG alike, so DMI alone cannot say whether KVM is doing the work.
 * An unknown vendor suggests nothing: "Dell Inc." can be set on a VM with `-smbios`, and
 * the absence of the CPU's hypervisor flag is the evidence that a machine is native.
 */
export function dmiSuggests(field: DmiField, value: string, dmi: DmiFields): Platform | '' {
  const hyperV = dmi.sys_vendor === 'Microsoft Corporation' && dmi.product_name === 'Virtual Machine';
  switch (field) {
    case 'sys_vendor':
      if (value === 'QEMU') return 'qemu';
      if (value === 'VMware, Inc.') return 'vmware';
      if (value === 'Xen') return 'xen';
      if (hyperV) return 'hyperv';
      return '';
    case 'product_name':
      // On arm64 QEMU's "virt" machine names the accelerator itself.
      if (value === 'KVM Virtual Machine') return 'kvm';
      if (value === 'QEMU Virtual Machine' || QEMU_MACHINE.test(value)) return 'qemu';
      // "VMware Virtual Platform" on BIOS guests; "VMware7,1", "VMware20,1" on EFI guests.
      if (value === 'VMware Virtual Platform' || /^VMware\d+,\d+$/.test(value)) return 'vmware';
      if (value === 'HVM domU') return 'xen';
      if (hyperV) return 'hyperv';
      return '';
    case 'bios_vendor':
      // Both are the firmware QEMU ships; few physical boards report either.
      if (value === 'SeaBIOS' || value === 'EDK II') return 'qemu';
      if (value === 'VMware, Inc.') return 'vmware'; // EFI guests; BIOS ones say "Phoenix Technologies LTD"
      if (value === 'Xen') return 'xen';
      if (hyperV) return 'hyperv';
      return '';
    case 'bios_version':
      if (value.endsWith('-prebuilt.qemu.org')) return 'qemu';
      if (/^VMW\d/.test(value)) return 'vmware';
      if (value.startsWith('Hyper-V')) return 'hyperv';
      if (value.endsWith('.amazon')) return 'xen'; // EC2's Xen generation, e.g. "4.11.amazon"
      return '';
    case 'board_vendor':
      if (hyperV) return 'hyperv';
      return '';
  }
}

/**
 * What the kernel's "Hypervisor detected: NAME" line suggests. The names are those of
 * arch/x86/kernel/cpu's hypervisor table, chosen from the CPUID signature leaf, so this is
 * the one place that tells KVM ("KVMKVMKVM") from QEMU's TCG, which has no signature.
 * Any other name (ACRN, Jailhouse, a new one) is a hypervisor guestbench has no name for.
 */
export function kernelHypervisorSuggests(name: string): Platform {
  if (name === 'KVM') return 'kvm';
  if (name === 'VMware') return 'vmware';
  if (name === 'Microsoft Hyper-V') return 'hyperv';
  if (/^Xen\b/.test(name)) return 'xen'; // "Xen PV", "Xen HVM"
  return 'other';
}

/**
 * What `systemd-detect-virt --vm` printed. Its ids are systemd's own; "none" means it found
 * no hypervisor, and ids without a guestbench platform (oracle, bochs, acrn…) are 'other'.
 */
export function systemdSuggests(id: string): Platform {
  switch (id) {
    case 'kvm':
      return 'kvm';
    case 'qemu':
      return 'qemu';
    case 'vmware':
      return 'vmware';
    case 'xen':
      return 'xen';
    case 'microsoft':
      return 'hyperv';
    case 'none':
      return 'native';
    default:
      return 'other';
  }
}

/**
 * What the clocksources the kernel offers suggest: each paravirtual clock is registered only
 * when its hypervisor advertises it (kvm-clock needs KVM's CPUID feature leaf, which TCG does
 * not provide), so it is a second, weaker witness beside the kernel log.
 */
export function clocksourceSuggests(available: readonly string[]): Platform | '' {
  if (available.includes('kvm-clock')) return 'kvm';
  if (available.includes('hyperv_clocksource_tsc_page') || available.includes('hyperv_clocksource_msr')) {
    return 'hyperv';
  }
  if (available.includes('xen')) return 'xen';
  return '';
}
