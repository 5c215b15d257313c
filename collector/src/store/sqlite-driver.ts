// The embedded engine: one SQLite file in WAL mode through better-sqlite3, which is
// synchronous. Calls are kept in order behind a transaction that is under way, so that no
// other call's statement lands inside it.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { SQLITE } from './dialect';
import { MIGRATIONS_TABLE, pendingMigrations, type Driver, type Queryable, type Result } from './driver';
import { StoreError } from './store';

interface Prepared {
  readonly statement: Database.Statement;
  /** The argument each `?` takes, from the $N of the text. */
  readonly order: readonly number[];
}

function bind(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v)) return JSON.stringify(v);
  return v ?? null;
}

export class SqliteDriver implements Driver {
  readonly dialect = SQLITE;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Prepared>();
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private readonly direct: Queryable = { query: async <T>(sql: string, args?: readonly unknown[]) => this.run<T>(sql, args) };

  /** Opens (creating when missing) the file and brings its schema up to date. */
  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(MIGRATIONS_TABLE(SQLITE));
      const applied = this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
      for (const m of pendingMigrations(applied)) {
        this.db.transaction(() => {
          this.db.exec(m.sql(SQLITE));
          this.db.prepare('INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (?, ?, ?)').run(m.version, m.description, Date.now());
        })();
      }
    } catch (err: unknown) {
      throw new StoreError(`cannot open SQLite database ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Prepared once per text: preparing is most of a small statement's cost. */
  private run<T>(sql: string, args: readonly unknown[] = []): Result<T> {
    let p = this.statements.get(sql);
    if (p === undefined) {
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
        order.push(Number(n));
        return '?';
      });
      p = { statement: this.db.prepare(text), order };
      this.statements.set(sql, p);
    }
    const bound = p.order.map((n) => bind(args[n - 1]));
    if (p.statement.reader) {
      const rows = p.statement.all(...bound) as T[];
      return { rows, count: rows.length };
    }
    return { rows: [], count: p.statement.run(...bound).changes };
  }

  query<T>(sql: string, args?: readonly unknown[]): Promise<Result<T>> {
    if (this.queued > 0) return this.serial(async () => this.run<T>(sql, args));
    try {
      return Promise.resolve(this.run<T>(sql, args));
    } catch (err: unknown) {
      return Promise.reject(err);
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      // IMMEDIATE: take the write lock now, not at the first write (another process may hold it).
      this.run('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.run('COMMIT');
        return result;
      } catch (err: unknown) {
        if (this.db.inTransaction) this.run('ROLLBACK');
        throw err;
      }
    });
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    this.queued++;
    const done = this.tail.then(op).finally(() => {
      this.queued--;
    });
    this.tail = done.catch(() => undefined);
    return done;
  }

  isForeignKeyViolation(err: unknown): boolean {
    return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
  }

  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
  }

  async close(): Promise<void> {
    await this.tail;
    this.db.close();
  }
}
