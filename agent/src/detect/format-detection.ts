// Renders a Detection for people (`guestbench-agent detect`); `--json` prints the Detection as is.
import type { Detection } from './detect-platform';

/**
 * The verdict, then one line per observation in the order it was made, sources aligned:
 *
 * ```text
 * platform: kvm
 *   /dev/kmsg                     "Hypervisor detected: KVM"  → kvm
 *   /sys/class/dmi/id/sys_vendor  "QEMU"                      → qemu
 *   /proc/cpuinfo                 "flags: hypervisor"
 * ```
 */
export function formatDetection(detection: Detection): string[] {
  const lines = [`platform: ${detection.platform}`];
  if (detection.evidence.length === 0) {
    lines.push('  no evidence: nothing that identifies a platform could be read');
    return lines;
  }
  const rows = detection.evidence.map((e) => ({
    source: e.source,
    value: JSON.stringify(e.value),
    suggests: e.suggests,
  }));
  const sourceWidth = Math.max(...rows.map((r) => r.source.length));
  const valueWidth = Math.max(...rows.map((r) => r.value.length));
  for (const row of rows) {
    const line = `  ${row.source.padEnd(sourceWidth)}  ${row.value.padEnd(valueWidth)}`;
    lines.push(row.suggests === '' ? line.trimEnd() : `${line}  → ${row.suggests}`);
  }
  return lines;
}
