// The file-system calls the disk benchmarks make, behind one small interface, so a test can
// wrap the real calls and see which open flags and which syncs reached the kernel.
import fs from 'node:fs';

/** File-system type numbers (statfs f_type) of file systems that are memory, not a disk. */
export const MEMORY_FILE_SYSTEMS: Readonly<Record<number, string>> = {
  0x01021994: 'tmpfs',
  0x858458f6: 'ramfs',
};

export interface FolderSpace {
  /** Bytes an unprivileged writer may still use (f_bavail × f_bsize). */
  readonly availableBytes: number;
  /** statfs f_type. */
  readonly type: number;
}

/**
 * Synchronous positional I/O, as fio's psync engine does it: one call, one system call, no
 * thread-pool hop, so the per-operation overhead stays far below a device's latency.
 */
export interface DiskIo {
  open(path: string, flags: number, mode: number): number;
  /** Reads into all of `buffer` at `position`; returns the bytes read. */
  pread(fd: number, buffer: Uint8Array, position: number): number;
  /** Writes all of `buffer` at `position`; returns the bytes written. */
  pwrite(fd: number, buffer: Uint8Array, position: number): number;
  fdatasync(fd: number): void;
  close(fd: number): void;
  unlink(path: string): void;
  statfs(folder: string): FolderSpace;
  /** Throws when `folder` cannot be written by this process. */
  checkWritable(folder: string): void;
  /** Drops the kernel's clean page cache (all of it: Linux has no per-file knob we can reach). Needs root. */
  dropCaches(): void;
}

export const nodeDiskIo: DiskIo = {
  open: (path, flags, mode) => fs.openSync(path, flags, mode),
  pread: (fd, buffer, position) => fs.readSync(fd, buffer, 0, buffer.length, position),
  pwrite: (fd, buffer, position) => fs.writeSync(fd, buffer, 0, buffer.length, position),
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  unlink: (path) => fs.unlinkSync(path),
  statfs(folder) {
    const s = fs.statfsSync(folder);
    return { availableBytes: s.bavail * s.bsize, type: s.type };
  },
  checkWritable: (folder) => fs.accessSync(folder, fs.constants.W_OK),
  dropCaches: () => fs.writeFileSync('/proc/sys/vm/drop_caches', '1\n'),
};

/** O_DIRECT, or undefined where the platform has none (Node only defines it on Linux). */
export const O_DIRECT: number | undefined = (fs.constants as Record<string, number | undefined>)['O_DIRECT'];
