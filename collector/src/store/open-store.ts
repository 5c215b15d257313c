// Chooses the engine from one `--db` value: a postgres:// URL, or else a SQLite file.
import { isPostgresUrl } from './database-spec';
import type { PostgresStoreOptions } from './postgres-driver';
import { PostgresStore, SqliteStore } from './sql-store';
import type { Store } from './store';

/**
 * Opens `spec` — `postgres://user:password@host:port/db` (also `postgresql://`) or a SQLite
 * file path — and migrates its schema. The caller closes the store.
 */
export async function openStore(spec: string, options: PostgresStoreOptions = {}): Promise<Store> {
  return isPostgresUrl(spec) ? PostgresStore.open(spec, options) : new SqliteStore(spec);
}
