// What the store needs of a database connection, whichever the engine: queries written once
// with $1 placeholders, transactions, and many-row inserts in as few statements as suit it.
import type { Dialect } from './dialect';
import { MIGRATIONS, type Migration } from './migrations';
import { StoreError } from './store';

export interface Result<T> {
  readonly rows: T[];
  /** Rows changed (or returned, for a statement with RETURNING). */
  readonly count: number;
}

export interface Queryable {
  /** Runs one statement; array arguments are lists for Dialect.inList. */
  query<T>(sql: string, args?: readonly unknown[]): Promise<Result<T>>;
}

export interface Driver extends Queryable {
  readonly dialect: Dialect;
  /** Runs `fn` in one transaction (committed when it resolves, rolled back when it throws). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Whether `err` is a unique constraint refusing a row. */
  isUniqueViolation(err: unknown): boolean;
  /** Whether `err` is a foreign key refusing a row (a reference to a row that does not exist). */
  isForeignKeyViolation(err: unknown): boolean;
  /**
   * Calls `onPayload` with what other connections send on `channel` (PostgreSQL); undefined
   * where the engine cannot tell other processes (SQLite).
   */
  readonly listen?: (channel: string, onPayload: (payload: string) => void) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** "($1, $2), ($3, $4)" for `rows` rows of `width` parameters. */
function placeholders(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  return out.join(', ');
}

/**
 * `head` VALUES (…), (…) `tail` for every row, in order: chunks that keep under each engine's
 * parameter limit (SQLite 32766, PostgreSQL 65535) and its statement cache small.
 */
export async function insertRows<T>(tx: Queryable, d: Dialect, head: string, rows: readonly (readonly unknown[])[], tail = ''): Promise<Result<T>> {
  const size = d.engine === 'sqlite' ? 100 : 1000;
  const out: T[] = [];
  let count = 0;
  for (let i = 0; i < rows.length; i += size) {
    const chunk = rows.slice(i, i + size);
    const r = await tx.query<T>(`${head} VALUES ${placeholders(chunk.length, chunk[0]?.length ?? 0)} ${tail}`, chunk.flat());
    out.push(...r.rows);
    count += r.count;
  }
  return { rows: out, count };
}

/**
 * Inserts the rows that are new (ON CONFLICT (`key`) DO NOTHING, `key` the first column) and
 * returns the keys of those inserted. SQLite: one prepared single-row statement each, whose
 * change count says whether the row was new (as fast as many rows per statement there, and
 * cheaper than RETURNING); PostgreSQL: many rows per statement, RETURNING the new keys.
 */
export async function insertNew(tx: Queryable, d: Dialect, head: string, key: string, rows: readonly (readonly unknown[])[]): Promise<Set<unknown>> {
  const inserted = new Set<unknown>();
  if (d.engine === 'sqlite') {
    const sql = `${head} VALUES ${placeholders(1, rows[0]?.length ?? 0)} ON CONFLICT (${key}) DO NOTHING`;
    for (const r of rows) if ((await tx.query(sql, r)).count === 1) inserted.add(r[0]);
  } else {
    const { rows: added } = await insertRows<{ k: unknown }>(tx, d, head, rows, `ON CONFLICT (${key}) DO NOTHING RETURNING ${key} AS k`);
    for (const r of added) inserted.add(r.k);
  }
  return inserted;
}

export const MIGRATIONS_TABLE = (d: Dialect): string =>
  `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms ${d.int} NOT NULL)`;

/** The migrations a database with `applied` versions still needs; refuses a database newer than this code. */
export function pendingMigrations(applied: readonly number[]): Migration[] {
  const known = Math.max(0, ...MIGRATIONS.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) throw new StoreError(`the database's schema is at version ${newest}, newer than this collector knows (${known}): upgrade this collector`);
  return MIGRATIONS.filter((m) => !applied.includes(m.version));
}
