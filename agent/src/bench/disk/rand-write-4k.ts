// disk.rand_write_4k: 4 KiB writes at uniformly random places, one at a time (fio
// rw=randwrite bs=4k iodepth=1 direct=1 end_fsync=1). IOPS counts the closing fdatasync;
// the latency percentiles are of the write calls alone.
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { BLOCK_4K, stampBlocks } from './direct-file';
import { nodeDiskIo, type DiskIo } from './disk-io';
import { checkTransfer, parseDiskSettings, prepareTestFile, trialSeconds, type DiskSettings } from './disk-setup';
import { LatencyRecorder } from './latency-recorder';
import { RANDOM_METRICS, randomBlock, randomTrialValues } from './random-io';
import { runTimed, timeSync } from './timed-loop';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const RAND_WRITE_ID = 'disk.rand_write_4k';

export function createRandWrite4k(io: DiskIo = nodeDiskIo): BenchmarkDefinition<DiskSettings> {
  return {
    id: RAND_WRITE_ID,
    description: 'random 4 KiB writes (O_DIRECT), queue depth 1, fdatasync before the clock stops: IOPS and latency p50/p99',
    profiles: EVERY_PROFILE,
    metrics: RANDOM_METRICS,
    parseSettings: (raw) => parseDiskSettings(RAND_WRITE_ID, raw, 256),
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const f = await prepareTestFile(io, RAND_WRITE_ID, settings, context, { bufferBytes: BLOCK_4K, wantDirect: true, reads: false });
      const seconds = trialSeconds(settings, context);
      const block = f.buffer.subarray(0, BLOCK_4K);
      const blocks = f.fileBytes / BLOCK_4K;
      const latencies = new LatencyRecorder();
      let generation = 0;
      return {
        parameters: { block: '4KiB', fileMiB: String(settings.fileMiB), io: f.ioMode, iodepth: '1', sync: 'fdatasync-at-end' },
        async trial() {
          latencies.reset();
          generation++;
          const run = await runTimed(
            seconds,
            context.signal,
            () => {
              const index = randomBlock(blocks);
              stampBlocks(block, f.tag, index, generation);
              checkTransfer(io.pwrite(f.fd, block, index * BLOCK_4K), BLOCK_4K, 'write');
            },
            latencies,
          );
          const syncSeconds = timeSync(() => io.fdatasync(f.fd));
          return randomTrialValues(run, latencies, syncSeconds);
        },
        async dispose() {
          f.dispose();
        },
      };
    },
  };
}

export const diskRandWrite4k = createRandWrite4k();
