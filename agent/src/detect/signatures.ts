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
 * Who made a virtual machine, as its firmware tables or systemd name it. More names than
 * platforms: VirtualBox, Parallels and bhyve are all 'other', Amazon's and Google's clouds 'kvm'.
 */
export type Vendor = 'qemu' | 'kvm' | 'amazon' | 'google' | 'vmware' | 'xen' | 'microsoft' | 'virtualbox' | 'parallels' | 'bhyve';

/** The platform each vendor's machines are filed under. */
export const VENDOR_PLATFORM: Readonly<Record<Vendor, Platform>> = {
  qemu: 'qemu',
  kvm: 'kvm',
  amazon: 'kvm', // EC2 Nitro; EC2's older Xen instances say "Xen" and "4.11.amazon" instead
  google: 'kvm',
  vmware: 'vmware',
  xen: 'xen',
  microsoft: 'hyperv',
  virtualbox: 'other',
  parallels: 'other',
  bhyve: 'other',
};

/**
 * The paravirtual interfaces a vendor's hypervisor offers besides its own, by the platform the
 * kernel takes them for. VirtualBox's "paravirtprovider" is KVM by default for Linux guests (or
 * Hyper-V), so the kernel says "Hypervisor detected: KVM" and uses kvm-clock there: on such a
 * machine the vendor is the better witness.
 */
export const FOREIGN_INTERFACES: Readonly<Partial<Record<Vendor, readonly Platform[]>>> = {
  virtualbox: ['kvm', 'hyperv'],
};

/**
 * The vendor one DMI field names, or undefined. Fields are judged together because the same
 * string means different things: "Microsoft Corporation" is Hyper-V only with the product
 * "Virtual Machine" (a Surface laptop says "Microsoft Corporation" too, on bare metal).
 *
 * A QEMU machine names 'qemu' whatever the accelerator: the firmware tables are QEMU's under KVM
 * and under TCG alike, so DMI alone cannot say whether KVM is doing the work. An unknown vendor
 * names nothing: "Dell Inc." can be set on a VM with `-smbios`, and the absence of the CPU's
 * hypervisor flag is the evidence that a machine is native.
 */
export function dmiVendor(field: DmiField, value: string, dmi: DmiFields): Vendor | undefined {
  const hyperV = dmi.sys_vendor === 'Microsoft Corporation' && dmi.product_name === 'Virtual Machine';
  switch (field) {
    case 'sys_vendor':
      if (value === 'QEMU') return 'qemu';
      if (value === 'VMware, Inc.') return 'vmware';
      if (value === 'Xen') return 'xen';
      if (value === 'Amazon EC2') return 'amazon';
      if (value === 'Google') return 'google';
      if (value === 'innotek GmbH') return 'virtualbox';
      if (/^Parallels\b/.test(value)) return 'parallels'; // "Parallels Software International Inc.", "Parallels International GmbH."
      if (value === 'BHYVE') return 'bhyve';
      if (hyperV) return 'microsoft';
      return undefined;
    case 'product_name':
      // On arm64 QEMU's "virt" machine names the accelerator itself.
      if (value === 'KVM Virtual Machine') return 'kvm';
      if (value === 'QEMU Virtual Machine' || QEMU_MACHINE.test(value)) return 'qemu';
      // "VMware Virtual Platform" on BIOS guests; "VMware7,1", "VMware20,1" on EFI guests.
      if (value === 'VMware Virtual Platform' || /^VMware\d+,\d+$/.test(value)) return 'vmware';
      if (value === 'HVM domU') return 'xen';
      if (value === 'Google Compute Engine') return 'google';
      if (value === 'VirtualBox') return 'virtualbox';
      if (value === 'BHYVE') return 'bhyve';
      if (hyperV) return 'microsoft';
      return undefined;
    case 'bios_vendor':
      // Both are the firmware QEMU ships; few physical boards report either.
      if (value === 'SeaBIOS' || value === 'EDK II') return 'qemu';
      if (value === 'VMware, Inc.') return 'vmware'; // EFI guests; BIOS ones say "Phoenix Technologies LTD"
      if (value === 'Xen') return 'xen';
      if (value === 'Amazon EC2') return 'amazon';
      if (value === 'Google') return 'google';
      if (value === 'innotek GmbH') return 'virtualbox';
      if (value === 'BHYVE') return 'bhyve';
      if (hyperV) return 'microsoft';
      return undefined;
    case 'bios_version':
      if (value.endsWith('-prebuilt.qemu.org')) return 'qemu';
      if (/^VMW\d/.test(value)) return 'vmware';
      if (value.startsWith('Hyper-V')) return 'microsoft';
      if (value.endsWith('.amazon')) return 'xen'; // EC2's Xen generation, e.g. "4.11.amazon"
      if (value === 'VirtualBox') return 'virtualbox';
      return undefined;
    case 'board_vendor':
      if (value === 'Amazon EC2') return 'amazon';
      if (hyperV) return 'microsoft';
      return undefined;
  }
}

/** The platform one DMI field points to, or '' (see {@link dmiVendor}). */
export function dmiSuggests(field: DmiField, value: string, dmi: DmiFields): Platform | '' {
  const vendor = dmiVendor(field, value, dmi);
  return vendor === undefined ? '' : VENDOR_PLATFORM[vendor];
}

/**
 * Whether the CPU's model name is one of QEMU's own emulated CPUs: qemu64/qemu32 ("QEMU Virtual
 * CPU version 2.5+"), kvm64/kvm32 ("Common KVM processor"), and "max" under TCG ("QEMU TCG CPU
 * version …"). No other hypervisor shows these names, so they outrank borrowed DMI strings; the
 * accelerator (KVM or TCG) is still for the KVM witnesses to say.
 */
export function isQemuCpuModel(model: string): boolean {
  return /^QEMU (Virtual|TCG) CPU\b/.test(model) || /^Common (32-bit )?KVM processor$/.test(model);
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
  // "PVM" (a KVM-based hypervisor running guests without hardware virtualization), ACRN, …
  return 'other';
}

/**
 * What `systemd-detect-virt --vm` printed. Its ids are systemd's own; "none" means it found
 * no hypervisor. "amazon" and "google" are KVM-based clouds systemd names by their DMI vendor:
 * they are 'kvm', and the id stays in the evidence. Ids without a guestbench platform (oracle
 * for VirtualBox, bhyve, parallels, acrn…) are 'other'.
 */
export function systemdSuggests(id: string): Platform {
  switch (id) {
    case 'kvm':
    case 'amazon':
    case 'google':
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
 * when a hypervisor advertises it (kvm-clock needs KVM's CPUID feature leaf, which TCG does
 * not provide). kvm-clock names an interface rather than a vendor: PVM and VirtualBox offer it
 * too, so detection takes it as KVM only beside a witness of the machine (see decidePlatform).
 */
export function clocksourceSuggests(available: readonly string[]): Platform | '' {
  if (available.includes('kvm-clock')) return 'kvm';
  if (available.includes('hyperv_clocksource_tsc_page') || available.includes('hyperv_clocksource_msr')) {
    return 'hyperv';
  }
  if (available.includes('xen')) return 'xen';
  return '';
}
