// Databases made before SQLite and PostgreSQL shared one store (schema version 9, see
// test/fixtures/store-v9.scenario.js) open with this one: migrated once, every answer as the
// old store gave it, the comparison kept up to date afterwards; and a new database gets the
// same schema as an upgraded one.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openTestDatabase, planTestPostgres, warnSkipped, type TestDatabase } from '../../test/helpers/test-postgres';
import { MIGRATIONS } from './migrations';
import { PostgresStore, SqliteStore } from './sql-store';
import type { Store } from './store';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const scenario = require(path.join(FIXTURES, 'store-v9.scenario.js')) as { write(s: Store): Promise<void>; read(s: Store): Promise<Record<string, unknown>> };
const answers = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'store-v9.answers.json'), 'utf8')) as Record<'sqlite' | 'postgres', Record<string, unknown>>;

/** As JSON would carry it, floats to 12 significant digits (sums may be added up in another order). */
function comparable(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (_, x: unknown) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(12)) : x));
}

/** Today's answers without what came after version 9 (a cell's doubtN, migration 11), which must be there and a count. */
function asOfV9(v: unknown): unknown {
  let cells = 0;
  const out = JSON.parse(JSON.stringify(v), (_key: string, x: unknown) => {
    if (x !== null && typeof x === 'object' && !Array.isArray(x) && 'valueLogSum' in x) {
      const { doubtN, ...rest } = x as { doubtN?: unknown };
      expect(Number.isInteger(doubtN)).toBe(true);
      cells++;
      return rest;
    }
    return x;
  }) as unknown;
  expect(cells).toBeGreaterThan(0);
  return comparable(out);
}

/** What the old stores' tests did not write: a run ends, a late sample arrives; cells stay those of a fresh aggregation. */
async function goOn(store: Store): Promise<void> {
  await store.endRun('r4', { status: 'completed', error: '', endedAtMs: 50_000 });
  const late = (await store.getSamples(['r0']))[0];
  if (late === undefined) throw new Error('fixture has no samples for r0');
  const result = await store.insertSamples('r0', [{ ...late, id: 'r0:late', benchmarkId: 'sys.late', value: 3 }]);
  expect(result).toEqual({ acked: ['r0:late'], inserted: 1 });
  const key = (c: { platform: string; label: string; benchmarkId: string; metric: string; agentMajor: string }): string =>
    JSON.stringify([c.platform, c.label, c.benchmarkId, c.metric, c.agentMajor]);
  const sorted = (cells: Awaited<ReturnType<Store['aggregateCells']>>) => comparable([...cells].sort((a, b) => key(a).localeCompare(key(b))));
  const kept = sorted(await store.aggregateCells({}));
  expect(kept).toEqual(sorted(await store.aggregateCells({ since: 0 })));
  expect((kept as { runs: number }[]).reduce((n, c) => n + c.runs, 0)).toBe(3 * 5 + 2);
}

test('a SQLite database of schema version 9 opens: migrated once, the same answers, cells kept without its old triggers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-upgrade-'));
  const file = path.join(dir, 'v9.sqlite');
  fs.copyFileSync(path.join(FIXTURES, 'store-v9.sqlite'), file);
  try {
    const store = new SqliteStore(file);
    expect(asOfV9(await scenario.read(store))).toEqual(comparable(answers.sqlite));
    await goOn(store);
    await store.close();
    const reopened = new SqliteStore(file);
    await reopened.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()).toEqual([]);
    const upgraded = sqliteSchema(raw);
    raw.close();
    await new SqliteStore(path.join(dir, 'fresh.sqlite')).close();
    const freshRaw = new Database(path.join(dir, 'fresh.sqlite'), { readonly: true });
    expect(sqliteSchema(freshRaw)).toEqual(upgraded);
    freshRaw.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a new SQLite store answers the old scenario as the old stores did', async () => {
  const store = new SqliteStore(':memory:');
  await scenario.write(store);
  expect(asOfV9(await scenario.read(store))).toEqual(comparable(answers.sqlite));
  await goOn(store);
  await store.close();
});

/** Every table's columns (name, type, not null, key) and every index, whitespace aside. */
function sqliteSchema(db: Database.Database): unknown {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  return {
    columns: tables.map((t) => [t, db.prepare('SELECT name, type, "notnull", pk, dflt_value FROM pragma_table_info(?) ORDER BY name').all(t)]),
    indexes: (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").all() as { name: string; sql: string | null }[]).map((i) => [
      i.name,
      i.sql?.replace(/\s+/g, ' '),
    ]),
  };
}

const pgPlan = planTestPostgres();
if (pgPlan.kind === 'skip') {
  warnSkipped('store-upgrade.test.ts', pgPlan.reason);
} else {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await openTestDatabase(pgPlan);
  }, 600_000);
  afterAll(async () => {
    await db?.close();
  });

  /** A database of its own next to the test database, dropped after `fn`. */
  async function withDatabase(suffix: string, fn: (url: string) => Promise<void>): Promise<void> {
    if (db === undefined) throw new Error('the test database did not open');
    const u = new URL(db.url);
    const name = `${u.pathname.slice(1)}_${suffix}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    u.pathname = `/${name}`;
    try {
      await fn(u.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }

  async function pgSchema(url: string): Promise<unknown> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const columns = await c.query(
        `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, column_name`,
      );
      const indexes = await c.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
      return { columns: columns.rows, indexes: indexes.rows };
    } finally {
      await c.end();
    }
  }

  test('a PostgreSQL database of schema version 9 opens: migrated once, the same answers, the same schema as a new one', async () => {
    await withDatabase('v9', async (url) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(fs.readFileSync(path.join(FIXTURES, 'store-v9.postgres.sql'), 'utf8'));
      await c.end();
      const store = await PostgresStore.open(url);
      expect(asOfV9(await scenario.read(store))).toEqual(comparable(answers.postgres));
      await goOn(store);
      await store.close();
      const versions = new pg.Client({ connectionString: url });
      await versions.connect();
      expect((await versions.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r: { version: number }) => r.version)).toEqual(
        MIGRATIONS.map((m) => m.version),
      );
      await versions.end();
      const upgraded = await pgSchema(url);
      await withDatabase('fresh', async (freshUrl) => {
        await (await PostgresStore.open(freshUrl)).close();
        expect(await pgSchema(freshUrl)).toEqual(upgraded);
      });
    });
  });

  test('a new PostgreSQL store answers the old scenario as the old stores did', async () => {
    await withDatabase('scenario', async (url) => {
      const store = await PostgresStore.open(url);
      await scenario.write(store);
      expect(asOfV9(await scenario.read(store))).toEqual(comparable(answers.postgres));
      await goOn(store);
      await store.close();
    });
  });
}
