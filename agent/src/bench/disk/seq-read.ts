// disk.seq_read: 1 MiB reads, one after another through the test file (fio rw=read bs=1M
// direct=1). Each read checks the block header, so the data demonstrably came from the file.
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { BLOCK_4K, hasStamp, MiB } from './direct-file';
import { nodeDiskIo, type DiskIo } from './disk-io';
import { bufferParameter, checkTransfer, parseDiskSettings, prepareTestFile, trialSeconds, type DiskSettings } from './disk-setup';
import { runTimed } from './timed-loop';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const SEQ_READ_ID = 'disk.seq_read';

export function createSeqRead(io: DiskIo = nodeDiskIo): BenchmarkDefinition<DiskSettings> {
  return {
    id: SEQ_READ_ID,
    description: 'sequential 1 MiB reads from the device (O_DIRECT), data checked',
    profiles: EVERY_PROFILE,
    metrics: [{ name: 'throughput', unit: 'MB/s', direction: 'higher', primary: true }],
    parseSettings: (raw) => parseDiskSettings(SEQ_READ_ID, raw, 256),
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const f = await prepareTestFile(io, SEQ_READ_ID, settings, context, { bufferBytes: MiB, wantDirect: true, reads: true });
      const seconds = trialSeconds(settings, context);
      const block = f.buffer.subarray(0, MiB);
      const cached = f.ioMode === 'buffered+dropcaches';
      let position = 0;
      return {
        parameters: { block: '1MiB', fileMiB: String(settings.fileMiB), io: f.ioMode, ...bufferParameter(f) },
        async trial() {
          if (cached) {
            io.dropCaches();
            position = 0;
          }
          const run = await runTimed(seconds, context.signal, () => {
            checkTransfer(io.pread(f.fd, block, position), MiB, 'read');
            if (!hasStamp(block, f.tag, position / BLOCK_4K)) throw new Error(`read at ${position} returned data that is not the test file's`);
            position += MiB;
            if (position < f.fileBytes) return true;
            position = 0;
            // Through the page cache a second pass would read what the first one cached.
            return !cached;
          });
          return { throughput: (run.ops * MiB) / run.seconds / 1e6 };
        },
        async dispose() {
          f.dispose();
        },
      };
    },
  };
}

export const diskSeqRead = createSeqRead();
