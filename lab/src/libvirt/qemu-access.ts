// QEMU under libvirt's system instance runs as its own user (libvirt-qemu on Debian), not as
// the lab: the overlay, the base image and the kernel must sit where that user can reach them.
// libvirt's dynamic ownership gives the files to that user, but not the folders above them; a
// folder such as mktemp's (mode 0700) makes `virsh start` fail with "Permission denied".
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The first folder above `path` that others cannot enter, or undefined when every one can. */
export function closedFolderAbove(path: string): string | undefined {
  let dir = dirname(resolve(path));
  for (;;) {
    try {
      const st = statSync(dir);
      if ((st.mode & 0o001) === 0) return dir;
    } catch {
      return undefined;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Throws a message naming the folder to open (or where to put things) for each path QEMU reads. */
export function checkQemuCanReach(paths: readonly string[]): string[] {
  const problems: string[] = [];
  for (const p of paths) {
    const closed = closedFolderAbove(p);
    if (closed !== undefined)
      problems.push(
        `${p}: QEMU runs as its own user and cannot enter ${closed} (mode without o+x); chmod o+x it or use a folder such as /var/lib/libvirt/images`,
      );
  }
  return problems;
}
