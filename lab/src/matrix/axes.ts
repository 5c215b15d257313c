import { createHash } from 'node:crypto';

// The settings a lab matrix can vary, their allowed values, and what a configuration is: one
// value per axis. Names follow libvirt's own where it has them.

/** Every axis, in the order labels and reports list them. */
export const AXIS_NAMES = ['cpu_model', 'vcpus', 'memory', 'hugepages', 'machine', 'disk_bus', 'disk_cache', 'nic', 'xml'] as const;
export type AxisName = (typeof AXIS_NAMES)[number];

export const DISK_BUSES = ['virtio-blk', 'virtio-scsi', 'sata', 'ide'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
/** libvirt's <driver cache=…>; `default` leaves it to QEMU (writeback). */
export const DISK_CACHES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const;
export type DiskCache = (typeof DISK_CACHES)[number];
// guestbench's own image runs Debian's generic kernel, which drives all of these; Debian's cloud
// kernel drives only virtio and vmxnet3 (see docs/lab.md).
export const NIC_MODELS = ['virtio', 'e1000e', 'e1000', 'rtl8139', 'vmxnet3'] as const;
export type NicModel = (typeof NIC_MODELS)[number];

/** One guest's settings: a value for every axis (defaults filled in). */
export interface Configuration {
  /**
   * `host-passthrough` (the host's CPU, KVM only), `host-model`, `maximum` (everything the
   * accelerator can give; what TCG offers) or a named QEMU model such as `qemu64`.
   * @default "host-passthrough" under KVM, "maximum" under TCG
   */
  readonly cpu_model: string;
  /** @default 2 */
  readonly vcpus: number;
  /** MiB. @default 1024 */
  readonly memory: number;
  /** Back guest memory with huge pages (the host must have them reserved). @default false */
  readonly hugepages: boolean;
  /** QEMU machine type. @default "q35" */
  readonly machine: string;
  /** @default "virtio-blk" */
  readonly disk_bus: DiskBus;
  /** @default "none" */
  readonly disk_cache: DiskCache;
  /** @default "virtio" */
  readonly nic: NicModel;
  /** Name of a raw XML fragment from the matrix's `xml` axis; "" for none. @default "" */
  readonly xml: string;
}

/** Values every configuration gets for the axes a matrix does not vary. */
export function defaultConfiguration(accelerator: 'kvm' | 'tcg'): Configuration {
  return {
    cpu_model: accelerator === 'kvm' ? 'host-passthrough' : 'maximum',
    vcpus: 2,
    memory: 1024,
    hugepages: false,
    machine: 'q35',
    disk_bus: 'virtio-blk',
    disk_cache: 'none',
    nic: 'virtio',
    xml: '',
  };
}

/** Short names used in group labels (`disk=sata.nic=e1000`). */
export const AXIS_LABELS: Readonly<Record<AxisName, string>> = {
  cpu_model: 'cpu',
  vcpus: 'vcpus',
  memory: 'mem',
  hugepages: 'hugepages',
  machine: 'machine',
  disk_bus: 'disk',
  disk_cache: 'cache',
  nic: 'nic',
  xml: 'xml',
};

/** Words for people (the configuration view). */
export const AXIS_TITLES: Readonly<Record<AxisName, string>> = {
  cpu_model: 'CPU model',
  vcpus: 'vCPUs',
  memory: 'memory (MiB)',
  hugepages: 'huge pages',
  machine: 'machine type',
  disk_bus: 'disk bus',
  disk_cache: 'disk cache',
  nic: 'NIC model',
  xml: 'XML fragment',
};

/** A value as text, the form labels and the collector store. */
export function axisValueText(value: string | number | boolean): string {
  return typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
}

/**
 * The group label of a configuration: the axes the matrix varies, in AXIS_NAMES order, as
 * `short=value` joined by dots (`disk=sata.nic=e1000`): the issue's `disk=sata,nic=e1000` in
 * what the collector's label alphabet allows (letters, digits, `. _ - =`, at most 64; no comma,
 * which separates groups in queries). Only varied axes, so labels stay short and two
 * matrices varying the same axes file their runs in the same groups. The full configuration is
 * recorded with each run; a label longer than 64 keeps its start and a hash of the whole.
 */
export function configurationLabel(config: Configuration, varied: readonly AxisName[]): string {
  const label = AXIS_NAMES.filter((a) => varied.includes(a))
    .map((a) => `${AXIS_LABELS[a]}=${axisValueText(config[a])}`)
    .join('.');
  if (label.length <= 64) return label;
  return `${label.slice(0, 55)}-${createHash('sha256').update(label).digest('hex').slice(0, 8)}`;
}

/** Every axis value as text, keyed by axis name: what the lab records with each run. */
export function configurationSettings(config: Configuration): Record<AxisName, string> {
  const out = {} as Record<AxisName, string>;
  for (const a of AXIS_NAMES) out[a] = axisValueText(config[a]);
  return out;
}
