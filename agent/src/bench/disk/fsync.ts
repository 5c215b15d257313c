// disk.fsync: a 4 KiB write and fdatasync, again and again, as a database commits its log
// (fio rw=write bs=4k fdatasync=1). The writes go through the page cache on purpose: what
// is measured is the flush to stable storage, which a hypervisor may honour, delay or fake.
import { latencyPercentiles, type BenchmarkDefinition, type PreparedBenchmark } from '../types';
import { BLOCK_4K, stampBlocks } from './direct-file';
import { nodeDiskIo, type DiskIo } from './disk-io';
import { checkTransfer, parseDiskSettings, prepareTestFile, trialSeconds, type DiskSettings } from './disk-setup';
import { LatencyRecorder } from './latency-recorder';
import { runTimed } from './timed-loop';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const FSYNC_ID = 'disk.fsync';

export function createFsync(io: DiskIo = nodeDiskIo): BenchmarkDefinition<DiskSettings> {
  return {
    id: FSYNC_ID,
    description: '4 KiB write + fdatasync, one after another (a log commit): latency mean, p50, p99',
    profiles: EVERY_PROFILE,
    metrics: [{ name: 'latency', unit: 'µs', direction: 'lower', primary: true }, ...latencyPercentiles('µs')],
    parseSettings: (raw) => parseDiskSettings(FSYNC_ID, raw, 16),
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const f = await prepareTestFile(io, FSYNC_ID, settings, context, { bufferBytes: BLOCK_4K, wantDirect: false, reads: false });
      const seconds = trialSeconds(settings, context);
      const block = f.buffer.subarray(0, BLOCK_4K);
      const blocks = f.fileBytes / BLOCK_4K;
      const latencies = new LatencyRecorder();
      let index = 0;
      let generation = 1;
      return {
        parameters: { block: '4KiB', fileMiB: String(settings.fileMiB), io: 'buffered', sync: 'fdatasync-each', pattern: 'sequential-overwrite' },
        async trial() {
          latencies.reset();
          const run = await runTimed(
            seconds,
            context.signal,
            () => {
              stampBlocks(block, f.tag, index, generation);
              checkTransfer(io.pwrite(f.fd, block, index * BLOCK_4K), BLOCK_4K, 'write');
              io.fdatasync(f.fd);
              if (++index === blocks) {
                index = 0;
                generation++;
              }
            },
            latencies,
          );
          const [p50, p99] = latencies.percentiles([50, 99]) as [number, number];
          return { latency: (run.seconds / run.ops) * 1e6, p50, p99 };
        },
        async dispose() {
          f.dispose();
        },
      };
    },
  };
}

export const diskFsync = createFsync();
