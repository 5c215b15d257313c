// Debian's Chromium, driven by playwright-core, for tests that look at a page in a real
// browser. scripts/ensure-chromium.sh installs it when missing (as root; CI is root). Only
// where it truly cannot be had (not root, not installed) are such tests skipped, loudly;
// under CI=true that is a failure instead.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'ensure-chromium.sh');
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export type BrowserPlan = { readonly kind: 'run' } | { readonly kind: 'skip'; readonly reason: string };

/** Decided synchronously, so that a suite can choose between describe and describe.skip. */
export function planBrowser(env: NodeJS.ProcessEnv = process.env): BrowserPlan {
  if (CANDIDATES.some((c) => fs.existsSync(c))) return { kind: 'run' };
  if (process.getuid?.() === 0 && fs.existsSync(SCRIPT)) return { kind: 'run' };
  const reason = 'Chromium is not installed and this is not root, so it cannot be installed (as root: scripts/ensure-chromium.sh)';
  if (env['CI'] === 'true') throw new Error(`browser tests cannot run in CI: ${reason}`);
  return { kind: 'skip', reason };
}

/** Starts headless Chromium, installing Debian's package first when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  let executablePath = CANDIDATES.find((c) => fs.existsSync(c));
  if (executablePath === undefined) {
    // Announced, and apt's output shown: a test run that installs a browser must say so.
    process.stderr.write("guestbench tests: Chromium is missing; installing Debian's chromium package (scripts/ensure-chromium.sh)\n");
    const child = execFile('bash', [SCRIPT], { timeout: 900_000 });
    child.stderr?.pipe(process.stderr);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`scripts/ensure-chromium.sh failed (exit ${String(code)})`);
    executablePath = stdout.trim().split('\n').pop();
  }
  return chromium.launch({
    executablePath,
    // As root Chromium needs --no-sandbox; the rest keep it from reaching for the network,
    // which this machine refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
