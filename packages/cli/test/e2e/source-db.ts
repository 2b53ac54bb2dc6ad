import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SourceWrite } from './exactly-once.js';

/** The tables of the end-to-end tests: an integer key, a string key and a composite key; `ver` is bumped by every write. */
export const TABLES = ['items', 'tags', 'lines'] as const;
export type TableName = (typeof TABLES)[number];

/** Rows each table starts with (`lines`: orders of two lines each). */
export interface InitialSize {
  readonly items: number;
  readonly tags: number;
  readonly orders: number;
}

export const tagCode = (n: number) => `t${String(n).padStart(7, '0')}`;

/** The keys a table starts with, as the audit trigger spells them. */
export function initialKeys(size: InitialSize): Map<string, string[]> {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  return new Map([
    ['items', range(size.items).map(String)],
    ['tags', range(size.tags).map(tagCode)],
    ['lines', range(size.orders).flatMap((o) => [`${o}/1`, `${o}/2`])],
  ]);
}

/** A connection to the source database, Postgres or MariaDB, with `?` placeholders. */
export interface SourceConnection {
  readonly dialect: 'postgres' | 'mariadb';
  /** Runs one statement; returns the number of rows it affected. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

export async function connectSource(dialect: 'postgres' | 'mariadb', url: string): Promise<SourceConnection> {
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url, application_name: 'e2e-writer' });
    client.on('error', () => undefined);
    await client.connect();
    return {
      dialect,
      run: async (sql, params = []) => {
        let i = 0;
        const text = sql.replace(/\?/g, () => `$${++i}`);
        return (await client.query(text, params as unknown[])).rowCount ?? 0;
      },
      close: () => client.end().catch(() => undefined),
    };
  }
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  connection.on('error', () => undefined);
  return {
    dialect,
    run: async (sql, params = []) => {
      const [result] = await connection.query(sql, params as unknown[]);
      return Array.isArray(result) ? result.length : (result as mysql.ResultSetHeader).affectedRows;
    },
    close: () => connection.end().catch(() => undefined),
  };
}

/** Creates schema (database) `e2e` with the three tables and their initial rows, loaded set-wise. */
export async function createSourceTables(db: SourceConnection, size: InitialSize): Promise<void> {
  const text = db.dialect === 'postgres' ? 'text' : 'varchar(100)';
  const code = db.dialect === 'postgres' ? 'varchar(32)' : 'varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';
  const statements = [
    db.dialect === 'postgres' ? 'CREATE SCHEMA e2e' : 'CREATE DATABASE e2e',
    `CREATE TABLE e2e.items (id int NOT NULL PRIMARY KEY, ver bigint NOT NULL, note ${text})`,
    `CREATE TABLE e2e.tags (code ${code} NOT NULL PRIMARY KEY, ver bigint NOT NULL, label ${text})`,
    `CREATE TABLE e2e.lines (order_id int NOT NULL, line_no int NOT NULL, ver bigint NOT NULL, qty int NOT NULL,
       PRIMARY KEY (order_id, line_no))`,
  ];
  if (db.dialect === 'postgres') {
    statements.push(
      `INSERT INTO e2e.items SELECT g, 0, 'item ' || g FROM generate_series(1, ${size.items}) g`,
      `INSERT INTO e2e.tags SELECT 't' || lpad(g::text, 7, '0'), 0, 'tag ' || g FROM generate_series(1, ${size.tags}) g`,
      `INSERT INTO e2e.lines SELECT o, l, 0, o % 7 FROM generate_series(1, ${size.orders}) o, generate_series(1, 2) l`,
    );
  } else {
    // MariaDB's sequence engine: seq_1_to_N is a table of 1..N.
    statements.push(
      `INSERT INTO e2e.items SELECT seq, 0, CONCAT('item ', seq) FROM seq_1_to_${size.items}`,
      `INSERT INTO e2e.tags SELECT CONCAT('t', LPAD(seq, 7, '0')), 0, CONCAT('tag ', seq) FROM seq_1_to_${size.tags}`,
      `INSERT INTO e2e.lines SELECT o.seq, l.seq, 0, o.seq % 7 FROM seq_1_to_${size.orders} o, seq_1_to_2 l`,
    );
  }
  for (const statement of statements) await db.run(statement);
}

/** xorshift32 from a seed: the same seed, the same choices. */
export function random(seed: number): (below: number) => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % below;
  };
}

/** Live keys of one table: pick one at random, add, remove, in O(1). */
class KeySet {
  private readonly keys: string[] = [];
  private readonly index = new Map<string, number>();
  readonly version = new Map<string, number>();

  constructor(initial: readonly string[]) {
    for (const k of initial) this.add(k, 0);
  }

  get size(): number {
    return this.keys.length;
  }

  add(key: string, ver: number): void {
    this.index.set(key, this.keys.length);
    this.keys.push(key);
    this.version.set(key, ver);
  }

  remove(key: string): void {
    const i = this.index.get(key)!;
    const last = this.keys.pop()!;
    if (last !== key) {
      this.keys[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(key);
    this.version.delete(key);
  }

  pick(rand: (below: number) => number): string {
    return this.keys[rand(this.keys.length)]!;
  }
}

/**
 * Inserts, updates and deletes across the three tables in small transactions on one connection,
 * and records every committed write: one connection, so commit order is the order of `seq`.
 */
export class RecordingWriter {
  readonly writes: SourceWrite[] = [];
  /**
   * The `seq` of the last write sent, committed or not: every write with a larger `seq` is sent,
   * and so committed, after this is read. (The last write this process knows committed is no such
   * bound: a COMMIT the server has done may still wait for this process to hear of it.)
   */
  get issuedSeq(): number {
    return this.seq;
  }
  failure: Error | null = null;
  private seq = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly live: Record<TableName, KeySet>;
  private nextItem: number;
  private nextTag: number;
  private nextOrder: number;

  constructor(
    private readonly db: SourceConnection,
    size: InitialSize,
    private readonly rand: (below: number) => number,
    /** Pause between transactions, ms. */
    private readonly pauseMs = 3,
  ) {
    const keys = initialKeys(size);
    this.live = {
      items: new KeySet(keys.get('items')!),
      tags: new KeySet(keys.get('tags')!),
      lines: new KeySet(keys.get('lines')!),
    };
    this.nextItem = size.items + 1;
    this.nextTag = size.tags + 1;
    this.nextOrder = size.orders + 1;
  }

  start(): void {
    this.running = true;
    this.loop = this.run().catch((error: Error) => {
      this.failure = error;
    });
  }

  /** Stops after the transaction in flight; throws if the writer failed. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure !== null) throw new Error(`the writer failed: ${this.failure.message}`);
  }

  /** Inserts the sentinel item (the last write) and returns its id. */
  async sentinel(): Promise<number> {
    const id = this.nextItem++;
    const seq = ++this.seq;
    await this.db.run("INSERT INTO e2e.items (id, ver, note) VALUES (?, ?, 'sentinel')", [id, seq]);
    this.writes.push({ seq, table: 'items', key: String(id), op: 'insert', ver: seq });
    return id;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const ops = 1 + this.rand(3);
      const pending: SourceWrite[] = [];
      this.touched.clear();
      await this.db.run(this.db.dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
      try {
        for (let i = 0; i < ops; i++) {
          const write = await this.randomWrite();
          if (write !== null) pending.push(write);
        }
        await this.db.run('COMMIT');
      } catch (error) {
        await this.db.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
      for (const w of pending) {
        this.writes.push(w);
        const keys = this.live[w.table as TableName];
        if (w.op === 'delete') keys.remove(w.key);
        else if (w.op === 'insert') keys.add(w.key, w.ver);
        else keys.version.set(w.key, w.ver);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }

  /** One statement; the key set is updated only after the commit, so a key is touched once per transaction. */
  private touched = new Set<string>();

  private async randomWrite(): Promise<SourceWrite | null> {
    const table = TABLES[this.rand(3)]!;
    const dice = this.rand(20); // 0-6 insert, 7-14 update, 15-19 delete
    const op = dice < 7 ? 'insert' : dice < 15 ? 'update' : 'delete';
    const keys = this.live[table];
    if (op !== 'insert' && keys.size === 0) return null;
    let key: string;
    if (op === 'insert') {
      key =
        table === 'items'
          ? String(this.nextItem++)
          : table === 'tags'
            ? tagCode(this.nextTag++)
            : `${this.nextOrder++}/1`;
    } else {
      key = keys.pick(this.rand);
      // A key this transaction already changed: skip (keeps the bookkeeping per transaction simple).
      if (this.touched.has(`${table}:${key}`)) return null;
    }
    this.touched.add(`${table}:${key}`);
    const seq = ++this.seq;
    const ver = op === 'delete' ? keys.version.get(key)! : seq;
    const n = await this.db.run(...statement(table, op, key, seq));
    if (n !== 1) throw new Error(`${op} of e2e.${table} ${key} changed ${n} rows`);
    return { seq, table, key, op, ver };
  }
}

function statement(
  table: TableName,
  op: 'insert' | 'update' | 'delete',
  key: string,
  seq: number,
): [string, unknown[]] {
  const where = { items: 'id = ?', tags: 'code = ?', lines: 'order_id = ? AND line_no = ?' }[table];
  const keyParams = table === 'lines' ? key.split('/').map(Number) : table === 'items' ? [Number(key)] : [key];
  switch (op) {
    case 'insert':
      return table === 'items'
        ? ['INSERT INTO e2e.items (id, ver, note) VALUES (?, ?, ?)', [...keyParams, seq, `new ${seq}`]]
        : table === 'tags'
          ? ['INSERT INTO e2e.tags (code, ver, label) VALUES (?, ?, ?)', [...keyParams, seq, `new ${seq}`]]
          : ['INSERT INTO e2e.lines (order_id, line_no, ver, qty) VALUES (?, ?, ?, ?)', [...keyParams, seq, seq % 9]];
    case 'update': {
      const set = { items: 'note = ?', tags: 'label = ?', lines: 'qty = ?' }[table];
      const value = table === 'lines' ? seq % 11 : `upd ${seq}`;
      return [`UPDATE e2e.${table} SET ver = ?, ${set} WHERE ${where}`, [seq, value, ...keyParams]];
    }
    case 'delete':
      return [`DELETE FROM e2e.${table} WHERE ${where}`, keyParams];
  }
}
