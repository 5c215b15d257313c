// mem.bandwidth: copies a buffer far larger than the last-level cache, so every byte goes
// to DRAM and back. Under virtualization this shows memory-controller contention from
// neighbours, NUMA placement of the guest's memory and host-side page size.
import { calibrate, consume, timeRun } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { releaseArrayBuffers } from './release-memory';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface BandwidthSettings {
  /** Size of each of the two buffers. @default 256 */
  readonly bufferMiB: number;
}

const MiB = 1024 * 1024;

/**
 * Copies `source` into `target` `copies` times with TypedArray.set (a memmove in V8) and
 * returns one byte of the target. The copy is a native call the JIT cannot elide, and the
 * byte returned is compared with the source by the caller, so the copy is also checked.
 */
export function copyBuffers(source: Uint8Array, target: Uint8Array, copies: number): number {
  for (let i = 0; i < copies; i++) target.set(source);
  return target[(copies * 4099) % target.length] ?? 0;
}

export const memBandwidth: BenchmarkDefinition<BandwidthSettings> = {
  id: 'mem.bandwidth',
  description: 'copy of a buffer far larger than the last-level cache',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'copy', unit: 'GB/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    return parseNumberSettings('mem.bandwidth', raw, {
      bufferMiB: { default: 256, min: 1, max: 16384, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const bytes = settings.bufferMiB * MiB;
    let source: Uint8Array | undefined = new Uint8Array(bytes);
    let target: Uint8Array | undefined = new Uint8Array(bytes);
    // Write every page of both buffers first: untouched pages would read as the kernel's
    // shared zero page, and the first copy would measure page faults, not bandwidth.
    for (let i = 0; i < bytes; i += 4096) source[i] = (i >>> 12) & 0xff;
    target.fill(1);
    const run = (copies: number): void => {
      const s = source as Uint8Array;
      const t = target as Uint8Array;
      const index = (copies * 4099) % t.length;
      const byte = copyBuffers(s, t, copies);
      if (byte !== s[index]) throw new Error('mem.bandwidth: copy did not arrive');
      consume(byte);
    };
    const copies = calibrate(run, context.profile.trialSeconds);
    return {
      parameters: { bufferMiB: String(settings.bufferMiB), method: 'TypedArray.set' },
      async trial() {
        const seconds = timeRun(run, copies);
        return { copy: (bytes * copies) / seconds / 1e9 };
      },
      async dispose() {
        source = undefined;
        target = undefined;
        await releaseArrayBuffers(2 * bytes);
      },
    };
  },
};
