// The site every web benchmark server serves, the built-in one and Apache or nginx alike:
// static/small, static/large and the CGI programs in cgi-bin/, written into one folder.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CGI_PROGRAMS } from './cgi-programs';

export interface SiteOptions {
  /** @default 1024 */
  readonly smallBytes?: number;
  /** @default 4 MiB */
  readonly largeBytes?: number;
}

export const DEFAULT_SMALL_BYTES = 1024;
export const DEFAULT_LARGE_BYTES = 4 * 1024 * 1024;

/** Content types by static file name; the deploy examples set the same ones. */
export const STATIC_TYPES: Readonly<Record<string, string>> = {
  small: 'text/html; charset=utf-8',
  large: 'application/octet-stream',
};

/** A ~1 KiB HTML page of exactly `bytes` bytes. */
export function smallPage(bytes = DEFAULT_SMALL_BYTES): Buffer {
  const head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>guestbench static/small</title></head><body>\n<p>';
  const tail = '</p>\n</body></html>\n';
  const words = 'the quick brown fox jumps over the lazy dog while a guest measures what its hypervisor costs ';
  if (bytes < head.length + tail.length) return Buffer.from('x'.repeat(bytes));
  const fill = bytes - head.length - tail.length;
  return Buffer.from(head + words.repeat(Math.ceil(fill / words.length)).slice(0, fill) + tail, 'latin1');
}

/** `bytes` deterministic pseudo-random bytes (xorshift32): incompressible and the same on every run. */
export function largeFile(bytes = DEFAULT_LARGE_BYTES): Buffer {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, bytes);
}

export interface SitePaths {
  readonly root: string;
  readonly staticDir: string;
  readonly cgiDir: string;
}

/** Writes the site into `root` (created if missing) and returns where its parts are. */
export function writeSite(root: string, options: SiteOptions = {}): SitePaths {
  const staticDir = path.join(root, 'static');
  const cgiDir = path.join(root, 'cgi-bin');
  mkdirSync(staticDir, { recursive: true });
  mkdirSync(cgiDir, { recursive: true });
  writeFileSync(path.join(staticDir, 'small'), smallPage(options.smallBytes));
  writeFileSync(path.join(staticDir, 'large'), largeFile(options.largeBytes));
  for (const [name, text] of Object.entries(CGI_PROGRAMS)) {
    const file = path.join(cgiDir, name);
    writeFileSync(file, text);
    chmodSync(file, 0o755);
  }
  return { root, staticDir, cgiDir };
}
