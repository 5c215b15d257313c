// The disk benchmarks against the real file system, through a recording layer that shows
// which open flags and syncs reached the kernel; and their refusals.
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Profile } from '../../profiles/profile';
import { runSuite } from '../runner';
import type { BenchContext, BenchmarkDefinition, PreparedBenchmark } from '../types';
import { MEMORY_PAGE, MiB, openTestFile, scatteredPagesBuffer } from './direct-file';
import { nodeDiskIo, O_DIRECT, type DiskIo } from './disk-io';
import type { DiskSettings } from './disk-setup';
import { createFsync } from './fsync';
import { percentiles } from './latency-recorder';
import { createRandRead4k } from './rand-read-4k';
import { createRandWrite4k } from './rand-write-4k';
import { createSeqRead } from './seq-read';
import { createSeqWrite } from './seq-write';
import { defaultDiskDir, isDiskSetupError, liveTestFiles, removeStaleFiles } from './test-file';

type Call =
  | { op: 'open'; path: string; flags: number }
  | { op: 'pread'; bytes: number; position: number }
  | { op: 'pwrite'; bytes: number; position: number }
  | { op: 'fdatasync' | 'dropCaches' | 'close' | 'unlink' };

/** The real calls, recorded; `override` replaces some of them. */
function recordingIo(override: Partial<DiskIo> = {}): { io: DiskIo; calls: Call[] } {
  const calls: Call[] = [];
  const real: DiskIo = { ...nodeDiskIo, ...override };
  const io: DiskIo = {
    open(p, flags, mode) {
      calls.push({ op: 'open', path: p, flags });
      return real.open(p, flags, mode);
    },
    pread(fd, buffer, position) {
      calls.push({ op: 'pread', bytes: buffer.length, position });
      return real.pread(fd, buffer, position);
    },
    pwrite(fd, buffer, position) {
      calls.push({ op: 'pwrite', bytes: buffer.length, position });
      return real.pwrite(fd, buffer, position);
    },
    fdatasync(fd) {
      calls.push({ op: 'fdatasync' });
      real.fdatasync(fd);
    },
    close(fd) {
      calls.push({ op: 'close' });
      real.close(fd);
    },
    unlink(p) {
      calls.push({ op: 'unlink' });
      real.unlink(p);
    },
    statfs: (folder) => real.statfs(folder),
    checkWritable: (folder) => real.checkWritable(folder),
    dropCaches() {
      calls.push({ op: 'dropCaches' });
      real.dropCaches();
    },
  };
  return { io, calls };
}

const PROFILE: Profile = {
  name: 'test',
  description: '',
  warmupSeconds: 0.01,
  trialSeconds: 0.05,
  minTrials: 3,
  maxTrials: 3,
  rsdThreshold: 0.5,
  budgetSeconds: 1,
  benchmarks: [],
  settings: {},
};

// A disk-backed folder, as the benchmarks refuse tmpfs (which /tmp often is).
const base = path.dirname(defaultDiskDir());
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(base, 'guestbench-disk-test-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function context(diskDir = dir): BenchContext {
  return { profile: PROFILE, signal: new AbortController().signal, targets: { diskDir } };
}

async function prepareAndRun(
  def: BenchmarkDefinition<DiskSettings>,
  trials: number,
  raw: Record<string, unknown> = { fileMiB: 4 },
): Promise<{ prepared: PreparedBenchmark; values: Record<string, number>[] }> {
  const prepared = await def.prepare(def.parseSettings(raw), context());
  const values: Record<string, number>[] = [];
  try {
    for (let i = 0; i < trials; i++) values.push({ ...(await prepared.trial()) });
  } finally {
    await prepared.dispose?.();
  }
  return { prepared, values };
}

const einvalOnDirect: Partial<DiskIo> = {
  open(p, flags, mode) {
    if (O_DIRECT !== undefined && (flags & O_DIRECT) !== 0) throw Object.assign(new Error('EINVAL: invalid argument, open'), { code: 'EINVAL' });
    return nodeDiskIo.open(p, flags, mode);
  },
};

describe('durability reaches the file-system calls', () => {
  test('seq_write opens with O_DIRECT when it says so, and every trial ends in fdatasync after its writes', async () => {
    const { io, calls } = recordingIo();
    const { prepared, values } = await prepareAndRun(createSeqWrite(io), 2);
    const open = calls.find((c): c is Extract<Call, { op: 'open' }> => c.op === 'open');
    expect(open).toBeDefined();
    const direct = O_DIRECT !== undefined && (open!.flags & O_DIRECT) !== 0;
    expect(prepared.parameters['io']).toBe(direct ? 'direct' : 'buffered');
    expect(prepared.parameters['pages']).toBe(direct ? 'scattered' : undefined);
    expect(prepared.parameters['sync']).toBe('fdatasync-at-end');
    // After the fill (which ends in fdatasync), each trial is 1 MiB writes closed by one fdatasync.
    const afterFill = calls.slice(calls.findIndex((c) => c.op === 'fdatasync') + 1);
    const syncs = afterFill.filter((c) => c.op === 'fdatasync').length;
    expect(syncs).toBe(2);
    const lastWrite = afterFill.map((c) => c.op).lastIndexOf('pwrite');
    expect(afterFill.slice(lastWrite + 1).map((c) => c.op)).toEqual(['fdatasync', 'close', 'unlink']);
    for (const c of afterFill) if (c.op === 'pwrite') expect(c.bytes).toBe(MiB);
    expect(values.every((v) => (v['throughput'] ?? 0) > 0)).toBe(true);
  });

  test('fsync writes 4 KiB and calls fdatasync after every single write', async () => {
    const { io, calls } = recordingIo();
    const { prepared, values } = await prepareAndRun(createFsync(io), 1, { fileMiB: 1 });
    expect(prepared.parameters).toMatchObject({ io: 'buffered', sync: 'fdatasync-each' });
    const afterFill = calls.slice(calls.findIndex((c) => c.op === 'fdatasync') + 1).filter((c) => c.op === 'pwrite' || c.op === 'fdatasync');
    expect(afterFill.length).toBeGreaterThan(2);
    afterFill.forEach((c, i) => {
      expect(c.op).toBe(i % 2 === 0 ? 'pwrite' : 'fdatasync');
      if (c.op === 'pwrite') expect(c.bytes).toBe(4096);
    });
    expect(values[0]!['p50']).toBeGreaterThan(0);
    expect(values[0]!['p99']).toBeGreaterThanOrEqual(values[0]!['p50']!);
  });

  test('rand_read_4k reads 4 KiB at 4 KiB-aligned places, and its data is checked against the file', async () => {
    const { io, calls } = recordingIo();
    const { prepared, values } = await prepareAndRun(createRandRead4k(io), 1);
    expect(prepared.parameters).toMatchObject({ block: '4KiB', iodepth: '1' });
    const reads = calls.filter((c): c is Extract<Call, { op: 'pread' }> => c.op === 'pread');
    expect(reads.length).toBeGreaterThan(10);
    for (const r of reads) {
      expect(r.bytes).toBe(4096);
      expect(r.position % 4096).toBe(0);
    }
    expect(values[0]!['iops']).toBeGreaterThan(0);
  });

  test('a read that returns foreign data fails the trial instead of counting', async () => {
    const zeroing: Partial<DiskIo> = {
      pread: (_fd, buffer) => {
        buffer.fill(0);
        return buffer.length;
      },
    };
    const { io } = recordingIo(zeroing);
    await expect(prepareAndRun(createSeqRead(io), 1)).rejects.toThrow(/not the test file's/);
  });

  test('where O_DIRECT is refused, writes go buffered and say so; reads drop the page cache before each trial', async () => {
    const writes = recordingIo(einvalOnDirect);
    const w = await prepareAndRun(createRandWrite4k(writes.io), 1);
    expect(w.prepared.parameters['io']).toBe('buffered');
    const reads = recordingIo({ ...einvalOnDirect, dropCaches: () => undefined });
    const r = await prepareAndRun(createSeqRead(reads.io), 2);
    expect(r.prepared.parameters['io']).toBe('buffered+dropcaches');
    expect(r.prepared.parameters['pages']).toBeUndefined();
    // Once to check it is allowed, then before each of the two trials.
    expect(reads.calls.filter((c) => c.op === 'dropCaches')).toHaveLength(3);
  });

  test('without O_DIRECT and without the right to drop caches, reads refuse to start and leave no file', async () => {
    const denied = recordingIo({
      ...einvalOnDirect,
      dropCaches: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    });
    const err = await createSeqRead(denied.io)
      .prepare({ fileMiB: 4, seconds: undefined }, context())
      .catch((e: unknown) => e);
    expect(isDiskSetupError(err)).toBe(true);
    expect((err as Error).message).toMatch(/cannot read past the page cache/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

test('the O_DIRECT buffer starts a WebAssembly memory, page-aligned, and the kernel takes it as it is', () => {
  const file = path.join(dir, 'aligned.tmp');
  const opened = openTestFile(nodeDiskIo, file, MiB, true);
  try {
    if (!opened.direct) return; // this file system refuses O_DIRECT: nothing to check here
    expect(opened.buffer.byteOffset).toBe(0);
    expect(opened.buffer.length).toBe(MiB);
    expect(nodeDiskIo.pwrite(opened.fd, opened.buffer, 0)).toBe(MiB);
    expect(nodeDiskIo.pread(opened.fd, opened.buffer, 0)).toBe(MiB);
  } finally {
    nodeDiskIo.close(opened.fd);
    fs.rmSync(file);
  }
});

/** The physical frame numbers of the `pages` pages at virtual address `address` (zero without root). */
function frames(address: number, pages: number): bigint[] {
  const entries = Buffer.alloc(8 * pages);
  const fd = fs.openSync('/proc/self/pagemap', 'r');
  try {
    fs.readSync(fd, entries, 0, entries.length, (address / MEMORY_PAGE) * 8);
  } finally {
    fs.closeSync(fd);
  }
  return Array.from({ length: pages }, (_, i) => entries.readBigUInt64LE(i * 8) & ((1n << 55n) - 1n));
}

/** The virtual address of `buffer`'s first byte: the page of a writable mapping that starts with its (random) first 64 bytes. */
function addressOf(buffer: Buffer): number | undefined {
  const mem = fs.openSync('/proc/self/mem', 'r');
  const found: number[] = [];
  try {
    for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      if (!/ rw.p /.test(line)) continue;
      const [start, end] = line
        .split(' ')[0]!
        .split('-')
        .map((h) => parseInt(h, 16)) as [number, number];
      if (end - start > 64 * MiB) continue;
      const content = Buffer.alloc(end - start);
      try {
        fs.readSync(mem, content, 0, content.length, start);
      } catch {
        continue; // a mapping the kernel will not show
      }
      for (let at = 0; at < content.length; at += MEMORY_PAGE) {
        if (content.compare(buffer, 0, 64, at, at + 64) === 0) found.push(start + at);
      }
    }
  } finally {
    fs.closeSync(mem);
  }
  return found.length === 1 ? found[0] : undefined;
}

// Reading physical frame numbers from /proc/self/pagemap needs CAP_SYS_ADMIN (CI runs as root).
const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)('the O_DIRECT buffer has no two pages physically side by side, so each is its own DMA segment (needs root)', () => {
  // Eight buffers, each checked. Whether pages written in plain order would fail this depends
  // on the kernel's free lists at that moment: in fresh processes about half of such buffers
  // had neighbours (up to 229 pairs), inside a test run sometimes none of eight.
  const buffers = Array.from({ length: 8 }, () => scatteredPagesBuffer(MiB));
  const adjacentPairs = buffers.map((buffer) => {
    randomFillSync(buffer.subarray(0, 64));
    const address = addressOf(buffer);
    expect(address).toBeDefined();
    const pfns = frames(address!, MiB / MEMORY_PAGE);
    expect(pfns.every((f) => f > 0n)).toBe(true);
    return pfns.filter((f, i) => i > 0 && f === pfns[i - 1]! + 1n).length;
  });
  // A virtio disk takes 254 segments per request: 256 pages with at most one pair side by
  // side still make two requests per 1 MiB, as the docs say.
  expect(Math.max(...adjacentPairs)).toBeLessThanOrEqual(1);
});

describe('refusals', () => {
  const one = (io: DiskIo = nodeDiskIo) => createSeqWrite(io);

  test('a folder that does not exist', async () => {
    const missing = path.join(dir, 'nope');
    const err = await one()
      .prepare({ fileMiB: 1, seconds: undefined }, context(missing))
      .catch((e: unknown) => e);
    expect(isDiskSetupError(err)).toBe(true);
    expect((err as Error).message).toContain(`disk folder ${missing} does not exist`);
  });

  test('a folder this process cannot write', async () => {
    const io = {
      ...nodeDiskIo,
      checkWritable: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    };
    await expect(one(io).prepare({ fileMiB: 1, seconds: undefined }, context())).rejects.toThrow(/is not writable by this process/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a folder without room for the file and the margin', async () => {
    const io = { ...nodeDiskIo, statfs: () => ({ availableBytes: 100 * MiB, type: 0xef53 }) };
    await expect(one(io).prepare({ fileMiB: 64, seconds: undefined }, context())).rejects.toThrow(/has 100 MiB free; the test file needs 128 MiB/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a folder in memory (tmpfs)', async () => {
    const io = { ...nodeDiskIo, statfs: () => ({ availableBytes: 1e12, type: 0x01021994 }) };
    await expect(one(io).prepare({ fileMiB: 1, seconds: undefined }, context())).rejects.toThrow(/is on tmpfs, which is memory, not a disk/);
  });

  test('in a suite, a refusal is a failed benchmark with its message and no sample', async () => {
    const missing = path.join(dir, 'nope');
    const outcomes = await runSuite({ profile: { ...PROFILE, benchmarks: ['disk.seq_read', 'disk.fsync'] }, targets: { diskDir: missing } });
    expect(outcomes.map((o) => (o.ok ? `${o.benchmarkId}: ${o.samples.length} samples` : `${o.benchmarkId}: ${o.error.message}`))).toEqual([
      `disk.seq_read: disk folder ${missing} does not exist; create it or pass another --disk-dir`,
      `disk.fsync: disk folder ${missing} does not exist; create it or pass another --disk-dir`,
    ]);
    expect(liveTestFiles()).toEqual([]);
  });
});

describe('test files', () => {
  test('files left by a process that no longer exists are removed; those of live ones stay', () => {
    const dead = path.join(dir, 'guestbench-seq_write-2147483646-abc.tmp');
    const alive = path.join(dir, `guestbench-seq_write-${process.ppid}-abc.tmp`);
    const foreign = path.join(dir, 'notes.tmp');
    for (const f of [dead, alive, foreign]) fs.writeFileSync(f, 'x');
    expect(removeStaleFiles(dir)).toEqual([path.basename(dead)]);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(alive), 'notes.tmp'].sort());
  });

  test('no test file is left after a benchmark ran', async () => {
    await prepareAndRun(createRandWrite4k(), 1);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(liveTestFiles()).toEqual([]);
  });
});

test('percentiles are nearest-rank', () => {
  const values = Float64Array.from([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  expect(percentiles(values, [50, 90, 99, 100])).toEqual([5, 9, 10, 10]);
  expect(percentiles(new Float64Array(0), [50])[0]).toBeNaN();
});
