// Direct kernel boot: libvirt hands QEMU the image's kernel and initrd (from the manifest
// build-image.sh writes beside it) instead of letting the BIOS read them from the disk. Under
// TCG, reading them over an emulated IDE or SATA disk alone takes minutes; the disk bus still
// carries the root file system and every benchmark.
import { existsSync, readFileSync } from 'node:fs';

export interface DirectBoot {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
}

/** The manifest beside IMAGE (`NAME.qcow2` → `NAME.manifest.json`), when it describes IMAGE. */
export function directBootFor(image: string): DirectBoot | undefined {
  const manifestFile = image.replace(/\.(qcow2|raw|img|vmdk)$/, '') + '.manifest.json';
  if (!existsSync(manifestFile)) return undefined;
  try {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as { cmdline?: unknown; files?: Record<string, unknown> };
    const files = m.files ?? {};
    const describes = ['qcow2', 'raw', 'vmdk'].some((k) => files[k] === image);
    const { kernel, initrd } = files;
    if (!describes || typeof kernel !== 'string' || typeof initrd !== 'string' || typeof m.cmdline !== 'string') return undefined;
    if (!existsSync(kernel) || !existsSync(initrd)) return undefined;
    return { kernel, initrd, cmdline: m.cmdline };
  } catch {
    return undefined;
  }
}
