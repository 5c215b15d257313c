// A PostgreSQL server for tests: GUESTBENCH_TEST_PG_URL when set (CI sets it), else one that
// scripts/ensure-postgres.sh starts for this test file when we are root (it installs Debian's
// postgresql when missing). Otherwise the PostgreSQL half of a suite is skipped, loudly —
// except under CI=true, where a missing PostgreSQL is a failure, never a silent pass.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'ensure-postgres.sh');

export type TestPostgresPlan = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'start' } | { readonly kind: 'skip'; readonly reason: string };

/** Decided synchronously, so that a suite can choose between describe and describe.skip. */
export function planTestPostgres(env: NodeJS.ProcessEnv = process.env): TestPostgresPlan {
  const url = env['GUESTBENCH_TEST_PG_URL'];
  if (url !== undefined && url !== '') return { kind: 'url', url };
  if (process.getuid?.() === 0 && fs.existsSync(SCRIPT)) return { kind: 'start' };
  const reason =
    'GUESTBENCH_TEST_PG_URL is unset and this is not root, so no PostgreSQL can be started (run scripts/ensure-postgres.sh as root and export the URL it prints)';
  if (env['CI'] === 'true') throw new Error(`PostgreSQL tests cannot run in CI: ${reason}`);
  return { kind: 'skip', reason };
}

export function warnSkipped(suite: string, reason: string): void {
  console.warn(`\n!!! ${suite}: the PostgreSQL tests are SKIPPED: ${reason}\n`);
}

export interface TestDatabase {
  readonly url: string;
  close(): Promise<void>;
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-pg-'));
  const { stdout } = await run('bash', [SCRIPT, 'start', dir], { timeout: 600_000 });
  const url = stdout.trim().split('\n').pop() ?? '';
  return {
    url,
    async stop() {
      await run('bash', [SCRIPT, 'stop', dir], { timeout: 60_000 });
    },
  };
}

/**
 * A database of its own for one test file, in the planned server, dropped on close; with
 * plan "start", the server too is this file's own and stops on close.
 */
export async function openTestDatabase(plan: Exclude<TestPostgresPlan, { kind: 'skip' }>): Promise<TestDatabase> {
  const server = plan.kind === 'url' ? { url: plan.url, stop: async () => undefined } : await startServer();
  const name = `guestbench_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async close() {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
      await server.stop();
    },
  };
}
