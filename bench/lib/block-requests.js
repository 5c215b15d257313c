// How many requests the block device was sent per MiB moved, and a buffer file whose pages
// lie apart in physical memory for fio to use as its I/O memory.
//
// A 1 MiB O_DIRECT I/O reaches the device as one request or as several, depending on how
// many physically separate pieces (DMA segments) its buffer's pages form and on the device's
// max_segments (254 on a virtio disk). guestbench places its buffer's pages apart, so each
// is its own segment (agent/src/bench/disk/direct-file.ts); fio's buffer lands wherever the
// kernel puts it, new in every fio process. Counting requests shows which case a run was.
'use strict';
const fs = require('node:fs');

const MiB = 1024 * 1024;
const PAGE = 4096;

/**
 * The kernel's I/O counters of the block device that holds `dir`
 * (/sys/dev/block/MAJOR:MINOR/stat), or undefined where there are none (not Linux, a file
 * system without a block device).
 */
function blockStatFile(dir) {
  const dev = fs.statSync(dir, { bigint: true }).dev;
  // glibc's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const file = `/sys/dev/block/${major}:${minor}/stat`;
  return fs.existsSync(file) ? file : undefined;
}

/** Completed requests and 512-byte sectors, per direction (Documentation/block/stat.rst). */
function readBlockStat(file) {
  if (file === undefined) return undefined;
  const f = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  return { read: { requests: f[0], sectors: f[2] }, write: { requests: f[4], sectors: f[6] } };
}

/**
 * Requests per MiB in `direction` ('read' or 'write') between two readings; undefined when
 * nothing moved. Everything on the device counts, so other I/O at the same time blurs it.
 */
function requestsPerMiB(before, after, direction) {
  if (before === undefined || after === undefined) return undefined;
  const requests = after[direction].requests - before[direction].requests;
  const bytes = (after[direction].sectors - before[direction].sectors) * 512;
  return bytes > 0 ? requests / (bytes / MiB) : undefined;
}

/**
 * Creates `file` (bytes long, on tmpfs such as /dev/shm) so that no two of its pages are
 * side by side in physical memory, as the agent lays out its buffer (scatteredPagesBuffer in
 * agent/src/bench/disk/direct-file.ts): tmpfs takes a page at the first write of it, and the
 * pages are written in four passes (every fourth page from page 0, then from page 1, ...),
 * so virtual neighbours are allocated a quarter of the file apart. fio maps it with
 * --iomem=mmapshared:FILE (MAP_SHARED, so fio's own writes into the buffer keep these pages
 * rather than copying them).
 */
function createScatteredBufferFile(file, bytes) {
  const passes = 4;
  const page = Buffer.alloc(PAGE, 0xa5);
  const pages = Math.ceil(bytes / PAGE);
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    for (let pass = 0; pass < passes; pass++) {
      for (let i = pass; i < pages; i += passes) fs.writeSync(fd, page, 0, PAGE, i * PAGE);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A folder on tmpfs for the buffer file: /dev/shm where it exists. */
function sharedMemoryDir() {
  return fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
}

module.exports = { blockStatFile, readBlockStat, requestsPerMiB, createScatteredBufferFile, sharedMemoryDir, MiB };
