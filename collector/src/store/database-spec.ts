// What `--db` names: a postgres:// URL or a SQLite file. Kept free of any driver, so that
// parsing a command line loads no database code.

/** `postgres://` or `postgresql://` URL: what selects the PostgreSQL store. */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** The URL without its password, for messages and logs. */
export function redactPostgresUrl(spec: string): string {
  try {
    const u = new URL(spec);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** What to show of a `--db` value in logs and messages: the URL without its password, or the file. */
export function describeDatabase(spec: string): string {
  return isPostgresUrl(spec) ? redactPostgresUrl(spec) : spec;
}
