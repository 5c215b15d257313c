// Checks a RecordRunConfiguration call before anything is stored: names of settings a report can
// show, values of bounded size, a known accelerator.
import type { RecordRunConfigurationRequest } from '@guestbench/proto';
import type { RunConfigurationRecord } from '../model';

/** A configuration as the store keeps it, before the collector stamps its time on it. */
export type ParsedRunConfiguration = Omit<RunConfigurationRecord, 'recordedAtMs'>;

const SETTING_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const PRINTABLE = /^[\x20-\x7e]*$/;
export const MAX_SETTINGS = 64;
export const ACCELERATORS = ['kvm', 'tcg', 'hvf', 'whpx', 'xen', ''] as const;

export function parseRunConfiguration(req: RecordRunConfigurationRequest): { ok: true; value: ParsedRunConfiguration } | { ok: false; error: string } {
  if (req.runId === '' || req.runId.length > 128) return { ok: false, error: 'run_id: required, at most 128 characters' };
  const entries = Object.entries(req.settings);
  if (entries.length === 0) return { ok: false, error: 'settings: give at least one setting (for example disk_bus=sata)' };
  if (entries.length > MAX_SETTINGS) return { ok: false, error: `settings: at most ${MAX_SETTINGS}, got ${entries.length}` };
  const settings: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!SETTING_NAME.test(k))
      return {
        ok: false,
        error: `settings: name ${JSON.stringify(k.slice(0, 40))} must be lower-case letters, digits and _ (at most 32, starting with a letter)`,
      };
    if (v.length > 256 || !PRINTABLE.test(v)) return { ok: false, error: `settings.${k}: at most 256 printable ASCII characters` };
    settings[k] = v;
  }
  for (const [name, v] of [
    ['host_kernel', req.hostKernel],
    ['qemu_version', req.qemuVersion],
    ['libvirt_version', req.libvirtVersion],
  ] as const) {
    if (v.length > 256 || !PRINTABLE.test(v)) return { ok: false, error: `${name}: at most 256 printable ASCII characters` };
  }
  if (!(ACCELERATORS as readonly string[]).includes(req.accelerator)) {
    return {
      ok: false,
      error: `accelerator: ${JSON.stringify(req.accelerator.slice(0, 40))} is not one of ${ACCELERATORS.filter(Boolean).join(', ')} (or empty)`,
    };
  }
  return {
    ok: true,
    value: {
      runId: req.runId,
      settings,
      hostKernel: req.hostKernel,
      qemuVersion: req.qemuVersion,
      libvirtVersion: req.libvirtVersion,
      accelerator: req.accelerator,
    },
  };
}
