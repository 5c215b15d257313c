// disk.seq_write: 1 MiB writes, one after another through the test file (fio rw=write bs=1M
// direct=1 end_fsync=1). The clock stops only after fdatasync, so the data is on the device.
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { MiB, stampBlocks, BLOCK_4K } from './direct-file';
import { nodeDiskIo, type DiskIo } from './disk-io';
import { bufferParameter, checkTransfer, parseDiskSettings, prepareTestFile, trialSeconds, type DiskSettings } from './disk-setup';
import { runTimed, timeSync } from './timed-loop';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export const SEQ_WRITE_ID = 'disk.seq_write';

export function createSeqWrite(io: DiskIo = nodeDiskIo): BenchmarkDefinition<DiskSettings> {
  return {
    id: SEQ_WRITE_ID,
    description: 'sequential 1 MiB writes, O_DIRECT, fdatasync before the clock stops',
    profiles: EVERY_PROFILE,
    metrics: [{ name: 'throughput', unit: 'MB/s', direction: 'higher', primary: true }],
    parseSettings: (raw) => parseDiskSettings(SEQ_WRITE_ID, raw, 256),
    async prepare(settings, context): Promise<PreparedBenchmark> {
      const f = await prepareTestFile(io, SEQ_WRITE_ID, settings, context, { bufferBytes: MiB, wantDirect: true, reads: false });
      const seconds = trialSeconds(settings, context);
      const block = f.buffer.subarray(0, MiB);
      let position = 0;
      let generation = 1;
      return {
        parameters: { block: '1MiB', fileMiB: String(settings.fileMiB), io: f.ioMode, ...bufferParameter(f), sync: 'fdatasync-at-end' },
        async trial() {
          const run = await runTimed(seconds, context.signal, () => {
            // A new header in every 4 KiB block: each write puts distinct data on the device.
            stampBlocks(block, f.tag, position / BLOCK_4K, generation);
            checkTransfer(io.pwrite(f.fd, block, position), MiB, 'write');
            position += MiB;
            if (position >= f.fileBytes) {
              position = 0;
              generation++;
            }
          });
          const syncSeconds = timeSync(() => io.fdatasync(f.fd));
          return { throughput: (run.ops * MiB) / (run.seconds + syncSeconds) / 1e6 };
        },
        async dispose() {
          f.dispose();
        },
      };
    },
  };
}

export const diskSeqWrite = createSeqWrite();
