// The fleet engine: PostgreSQL through `pg` (pure JavaScript), so that several collectors
// can share one database; every write is one statement or one transaction.
import pg from 'pg';
import { redactPostgresUrl } from './database-spec';
import { POSTGRES } from './dialect';
import { MIGRATIONS_TABLE, pendingMigrations, type Driver, type Queryable, type Result } from './driver';
import { StoreError } from './store';

export interface PostgresStoreOptions {
  /** Connections kept by this collector. @default 10 */
  readonly maxConnections?: number;
  /** Told about a connection that failed while idle (the pool replaces it). @default ignored */
  readonly onIdleError?: (err: Error) => void;
  /** Told when the LISTEN connection for job notifications fails (it reconnects by itself). @default ignored */
  readonly onListenError?: (err: Error) => void;
}

/** The pool size when none is given. */
export const DEFAULT_MAX_CONNECTIONS = 10;

const INT8_OID = 20;
/**
 * BIGINT (milliseconds, COUNT(*)) as a JavaScript number: every value stored here is far
 * below 2^53. Set per pool, so other users of `pg` in the process keep the default.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Held while migrating, so that collectors starting together migrate once, one at a time. */
const MIGRATION_LOCK = 'guestbench.schema_migrations';

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores and a guest may send; it becomes
 * U+FFFD here (in lookups too, so an id still finds itself) instead of failing the write.
 */
function withoutNul(args: readonly unknown[]): unknown[] {
  const clean = (v: unknown): unknown => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v);
  return args.map((a) => (Array.isArray(a) ? a.map(clean) : clean(a)));
}

async function query<T>(on: pg.Pool | pg.PoolClient, sql: string, args: readonly unknown[] = []): Promise<Result<T>> {
  const r = await on.query(sql, withoutNul(args));
  return { rows: r.rows as T[], count: r.rowCount ?? 0 };
}

export class PostgresDriver implements Driver {
  readonly dialect = POSTGRES;

  private constructor(
    private readonly pool: pg.Pool,
    /** The URL without its password. */
    readonly url: string,
    private readonly connectionString: string,
    private readonly options: PostgresStoreOptions,
  ) {}

  /** Connects, and brings the schema up to date (once, whichever collector gets there first). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresDriver> {
    const redacted = redactPostgresUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, types: TYPES, connectionTimeoutMillis: 15_000 });
    // Without a listener, a connection that dies while idle (a server restart) kills the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    try {
      const client = await pool.connect();
      try {
        await query(client, 'SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
        try {
          await query(client, MIGRATIONS_TABLE(POSTGRES));
          const applied = (await query<{ version: number }>(client, 'SELECT version FROM schema_migrations')).rows.map((r) => r.version);
          for (const m of pendingMigrations(applied)) {
            await query(client, 'BEGIN');
            try {
              await query(client, m.sql(POSTGRES));
              await query(client, 'INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES ($1, $2, $3)', [
                m.version,
                m.description,
                Date.now(),
              ]);
              await query(client, 'COMMIT');
            } catch (err: unknown) {
              await query(client, 'ROLLBACK');
              throw new StoreError(`PostgreSQL migration ${m.version} (${m.description}) failed: ${(err as Error).message}`, { cause: err });
            }
          }
        } finally {
          await query(client, 'SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK]);
        }
      } finally {
        client.release();
      }
    } catch (err: unknown) {
      await pool.end().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot open PostgreSQL database ${redacted}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresDriver(pool, redacted, url, options);
  }

  query<T>(sql: string, args?: readonly unknown[]): Promise<Result<T>> {
    return query<T>(this.pool, sql, args);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({ query: (sql, args) => query(client, sql, args) });
      await client.query('COMMIT');
      return result;
    } catch (err: unknown) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  isForeignKeyViolation(err: unknown): boolean {
    return (err as { code?: string }).code === '23503';
  }

  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: string }).code === '23505';
  }

  /** LISTEN needs a connection of its own, outside the pool, kept (and re-made) for as long as we watch. */
  readonly listen = async (channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> => {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let delayMs = 500;
    const later = (): void => {
      retry = setTimeout(() => void reconnect(), delayMs);
      delayMs = Math.min(delayMs * 2, 10_000);
    };
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.connectionString, types: TYPES, connectionTimeoutMillis: 15_000 });
      c.on('notification', (msg) => {
        if (msg.channel === channel && msg.payload !== undefined && msg.payload !== '') onPayload(msg.payload);
      });
      const lost = (err: Error): void => {
        if (client !== c) return;
        client = undefined;
        c.end().catch(() => undefined);
        if (stopped) return;
        this.options.onListenError?.(err);
        later();
      };
      c.on('error', lost);
      c.on('end', () => lost(new Error('LISTEN connection closed')));
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      client = c;
      delayMs = 500;
    };
    const reconnect = async (): Promise<void> => {
      if (stopped) return;
      try {
        await connect();
      } catch (err: unknown) {
        this.options.onListenError?.(err as Error);
        later();
      }
    };
    try {
      await connect();
    } catch (err: unknown) {
      throw new StoreError(`cannot LISTEN for jobs on PostgreSQL database ${this.url}: ${(err as Error).message}`, { cause: err });
    }
    return async () => {
      stopped = true;
      if (retry !== undefined) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    };
  };

  async close(): Promise<void> {
    await this.pool.end();
  }
}
