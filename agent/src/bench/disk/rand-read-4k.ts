// disk.rand_read_4k: 4 KiB reads at uniformly random places in the test file, one at a time
// (fio rw=randread bs=4k iodepth=1 direct=1). At queue depth 1 the rate is the inverse of
// the device's latency, which is where a hypervisor's I/O path shows.
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { BLOCK_4K, hasStamp } from './direct-file';
import { nodeDiskIo, type DiskIo } from './disk-io';
import { checkTransfer, parseDiskSettings, prepareTestFile, trialSeconds, type DiskSettings } from './disk-setup';
import { LatencyRecorder } from './latency-recorder';
import { RANDOM_METRICS, randomBlock, randomTrialValues } from './random-io';
import { runTimed } from './timed-loop';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const RAND_READ_ID = 'disk.rand_read_4k';

export function createRandRead4k(io: DiskIo = nodeDiskIo): BenchmarkDefinition<DiskSettings> {
  return {
    id: RAND_READ_ID,
    description: 'random 4 KiB reads from the device (O_DIRECT), queue depth 1: IOPS and latency p50/p99',
    profiles: EVERY_PROFILE,
    metrics: RANDOM_METRICS,
    parseSettings: (raw) => parseDiskSettings(RAND_READ_ID, raw, 256),
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const f = await prepareTestFile(io, RAND_READ_ID, settings, context, { bufferBytes: BLOCK_4K, wantDirect: true, reads: true });
      const seconds = trialSeconds(settings, context);
      const block = f.buffer.subarray(0, BLOCK_4K);
      const blocks = f.fileBytes / BLOCK_4K;
      const latencies = new LatencyRecorder();
      return {
        parameters: { block: '4KiB', fileMiB: String(settings.fileMiB), io: f.ioMode, iodepth: '1' },
        async trial() {
          if (f.ioMode === 'buffered+dropcaches') io.dropCaches();
          latencies.reset();
          const run = await runTimed(
            seconds,
            context.signal,
            () => {
              const index = randomBlock(blocks);
              checkTransfer(io.pread(f.fd, block, index * BLOCK_4K), BLOCK_4K, 'read');
              if (!hasStamp(block, f.tag, index)) throw new Error(`read of block ${index} returned data that is not the test file's`);
            },
            latencies,
          );
          return randomTrialValues(run, latencies);
        },
        async dispose() {
          f.dispose();
        },
      };
    },
  };
}

export const diskRandRead4k = createRandRead4k();
