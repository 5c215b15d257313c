// The few places where SQLite and PostgreSQL spell the same thing differently. The store
// writes every statement once, PostgreSQL-style ($1 placeholders), and takes these fragments.

export type Engine = 'sqlite' | 'postgres';

export interface Dialect {
  readonly engine: Engine;
  /** Column types, as each engine's schema has always declared them. */
  readonly int: string;
  readonly real: string;
  readonly bool: string;
  /** An auto-numbered primary key column. */
  readonly serialKey: string;
  /** After an ORDER BY term on text: byte-wise order, as SQLite compares, whatever PostgreSQL's locale. */
  readonly bytewise: string;
  /** A row lock, in a transaction (SQLite has one writer at a time and needs none). */
  readonly forUpdate: string;
  /**
   * Whether the store keeps cell_stats as runs finish (SQLite: a comparison reads a few hundred
   * rows), or aggregates each comparison over the samples (PostgreSQL: in parallel there, and
   * runs finishing at once on several collectors do not queue for the same cells' row locks).
   */
  readonly cellStats: boolean;
  /** Scalar smaller and larger of two values. */
  readonly least: string;
  readonly greatest: string;
  /** The part of a version text before its first dot. */
  agentMajor(column: string): string;
  /** `column` is one of the array parameter `param` (the driver passes a JavaScript array as each engine takes it). */
  inList(column: string, param: string): string;
}

export const SQLITE: Dialect = {
  engine: 'sqlite',
  int: 'INTEGER',
  real: 'REAL',
  bool: 'INTEGER',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bytewise: '',
  forUpdate: '',
  cellStats: true,
  least: 'MIN',
  greatest: 'MAX',
  agentMajor: (c) => `CASE WHEN instr(${c}, '.') > 0 THEN substr(${c}, 1, instr(${c}, '.') - 1) ELSE ${c} END`,
  inList: (c, p) => `${c} IN (SELECT value FROM json_each(${p}))`,
};

export const POSTGRES: Dialect = {
  engine: 'postgres',
  int: 'BIGINT',
  real: 'DOUBLE PRECISION',
  bool: 'BOOLEAN',
  serialKey: 'BIGSERIAL PRIMARY KEY',
  bytewise: ' COLLATE "C"',
  forUpdate: ' FOR UPDATE',
  cellStats: false,
  least: 'LEAST',
  greatest: 'GREATEST',
  agentMajor: (c) => `split_part(${c}, '.', 1)`,
  inList: (c, p) => `${c} = ANY(${p}::text[])`,
};
