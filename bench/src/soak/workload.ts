import { type ChildProcess, spawn } from 'node:child_process';
import { connect, runSql, type SqlConnection } from './connections.js';
import type { Random } from './random.js';

/** Rows the OLTP table starts with (before the first snapshot). */
export const INITIAL_ITEMS = 5_000;
/** TPC-B-like tables of the MariaDB source (pgbench makes its own on Postgres). */
const BRANCHES = 4;
const TELLERS = 40;
const ACCOUNTS = 40_000;

export interface WriterCounts {
  transactions: number;
  statements: number;
  /** Transactions that failed (deadlock, duplicate key of a racing insert, server going away). */
  failed: number;
}

/** Creates `soak.items` (and on MariaDB the TPC-B-like tables) with their first rows. */
export async function createSourceTables(dialect: 'postgres' | 'mysql', url: string): Promise<void> {
  if (dialect === 'postgres') {
    await runSql(dialect, url, [
      'CREATE SCHEMA soak',
      'CREATE TABLE soak.items (id bigint PRIMARY KEY, grp int NOT NULL, ver bigint NOT NULL, amount numeric(12,2), note varchar(80))',
      `INSERT INTO soak.items SELECT g, g % 17, 0, (g * 7 % 10000) / 100.0, 'item ' || g FROM generate_series(1, ${INITIAL_ITEMS}) g`,
    ]);
    return;
  }
  await runSql(dialect, url, [
    'CREATE DATABASE soak',
    'CREATE TABLE soak.items (id BIGINT PRIMARY KEY, grp INT NOT NULL, ver BIGINT NOT NULL, amount DECIMAL(12,2), note VARCHAR(80)) ENGINE=InnoDB',
    `INSERT INTO soak.items SELECT seq, seq % 17, 0, (seq * 7 % 10000) / 100.0, CONCAT('item ', seq) FROM seq_1_to_${INITIAL_ITEMS}`,
    'CREATE TABLE soak.branches (bid INT PRIMARY KEY, bbalance INT NOT NULL, filler CHAR(88)) ENGINE=InnoDB',
    'CREATE TABLE soak.tellers (tid INT PRIMARY KEY, bid INT NOT NULL, tbalance INT NOT NULL, filler CHAR(84)) ENGINE=InnoDB',
    'CREATE TABLE soak.accounts (aid INT PRIMARY KEY, bid INT NOT NULL, abalance INT NOT NULL, filler CHAR(84)) ENGINE=InnoDB',
    'CREATE TABLE soak.history (hid BIGINT AUTO_INCREMENT PRIMARY KEY, tid INT, bid INT, aid INT, delta INT) ENGINE=InnoDB',
    `INSERT INTO soak.branches SELECT seq, 0, NULL FROM seq_1_to_${BRANCHES}`,
    `INSERT INTO soak.tellers SELECT seq, 1 + (seq - 1) % ${BRANCHES}, 0, NULL FROM seq_1_to_${TELLERS}`,
    `INSERT INTO soak.accounts SELECT seq, 1 + (seq - 1) % ${BRANCHES}, 0, '' FROM seq_1_to_${ACCOUNTS}`,
  ]);
}

/**
 * A small OLTP writer: transactions of 1–6 statements mixing inserts (some of keys deleted before,
 * some colliding and ignored), updates, deletes and key-moving updates, now and then a bulk insert of
 * fresh keys alone in its transaction (the sinks' bulk path), and on MariaDB TPC-B transactions.
 * Reconnects after any failure (a killed or restarted server), so it runs through the faults.
 */
export class OltpWriter {
  readonly counts: WriterCounts = { transactions: 0, statements: 0, failed: 0 };
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private nextId = INITIAL_ITEMS + 1;
  private version = 0;

  constructor(
    private readonly dialect: 'postgres' | 'mysql',
    private readonly url: string,
    private readonly random: Random,
    connections: number,
    private readonly tpcb: boolean,
  ) {
    for (let i = 0; i < connections; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    let db: SqlConnection | undefined;
    while (!this.stopped) {
      try {
        db ??= await connect(this.dialect, this.url);
        const statements = this.transaction();
        await db.query('BEGIN');
        for (const s of statements) await db.query(s);
        await db.query('COMMIT');
        this.counts.transactions++;
        this.counts.statements += statements.length;
      } catch {
        this.counts.failed++;
        await db?.query('ROLLBACK').catch(() => {});
        // A lost session cannot be reused; a failed statement can (after the rollback), but a fresh one is simpler.
        await db?.close();
        db = undefined;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await db?.close();
  }

  private transaction(): string[] {
    const r = this.random;
    const items = 'soak.items';
    if (r.next() < 0.04) {
      const values: string[] = [];
      for (let i = 0; i < 300; i++) {
        const id = this.nextId++;
        values.push(`(${id}, ${id % 17}, ${++this.version}, ${r.int(0, 99999) / 100}, 'bulk ${id}')`);
      }
      return [`INSERT INTO ${items} (id, grp, ver, amount, note) VALUES ${values.join(', ')}`];
    }
    if (this.tpcb && r.next() < 0.4) {
      const aid = r.int(1, ACCOUNTS);
      const tid = r.int(1, TELLERS);
      const bid = r.int(1, BRANCHES);
      const delta = r.int(-5000, 5000);
      return [
        `UPDATE soak.accounts SET abalance = abalance + ${delta} WHERE aid = ${aid}`,
        `UPDATE soak.tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid}`,
        `UPDATE soak.branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid}`,
        `INSERT INTO soak.history (tid, bid, aid, delta) VALUES (${tid}, ${bid}, ${aid}, ${delta})`,
      ];
    }
    const statements: string[] = [];
    const count = r.int(1, 6);
    for (let i = 0; i < count; i++) {
      const ver = ++this.version;
      const kind = r.next();
      if (kind < 0.3) {
        // Fresh keys half of the time; otherwise any key so far: a deleted one comes back, a live one is ignored.
        const id = r.next() < 0.5 ? this.nextId++ : r.int(1, this.nextId - 1);
        const row = `(${id}, ${id % 17}, ${ver}, ${r.int(0, 99999) / 100}, 'ins ${ver}')`;
        statements.push(
          this.dialect === 'postgres'
            ? `INSERT INTO ${items} (id, grp, ver, amount, note) VALUES ${row} ON CONFLICT DO NOTHING`
            : `INSERT IGNORE INTO ${items} (id, grp, ver, amount, note) VALUES ${row}`,
        );
      } else if (kind < 0.65) {
        const id = r.int(1, this.nextId - 1);
        const note = r.next() < 0.1 ? 'NULL' : `'upd ${ver}'`;
        statements.push(
          `UPDATE ${items} SET ver = ${ver}, amount = amount + ${r.int(-500, 500) / 100}, note = ${note} WHERE id = ${id}`,
        );
      } else if (kind < 0.8) {
        statements.push(`DELETE FROM ${items} WHERE id = ${r.int(1, this.nextId - 1)}`);
      } else if (kind < 0.95) {
        // Moves a row to a new key: the sink must delete the old key and write the new one.
        statements.push(
          `UPDATE ${items} SET id = ${this.nextId++}, ver = ${ver} WHERE id = ${r.int(1, this.nextId - 2)}`,
        );
      } else {
        // Several rows of one group in one statement.
        statements.push(`UPDATE ${items} SET ver = ${ver} WHERE grp = ${r.int(0, 16)} AND id % 97 = ${r.int(0, 96)}`);
      }
    }
    return statements;
  }
}

/** pgbench's TPC-B transactions on 4 clients, started again whenever it ends (a restarted server ends it). */
export class PgbenchLoop {
  transactions = 0;
  runs = 0;
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly pgbench: string,
    private readonly url: string,
    private readonly clients: number,
  ) {
    this.done = this.loop();
  }

  /** `pgbench -i` at `scale`, then a primary key on pgbench_history so the pipeline captures it. */
  static async initialise(pgbench: string, url: string, scale: number): Promise<void> {
    await runProcess(pgbench, ['-i', '-q', '-s', String(scale), url]);
    await runSql('postgres', url, ['ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY']);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.child?.kill('SIGINT');
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // -n: no vacuum, and above all no TRUNCATE of pgbench_history before each run.
      const child = spawn(this.pgbench, ['-n', '-c', String(this.clients), '-j', '1', '-T', '15', this.url], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', () => {});
      await new Promise((resolve) => child.on('close', resolve));
      this.runs++;
      const match = /actually processed: (\d+)/.exec(output);
      if (match !== null) this.transactions += Number(match[1]);
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

function runProcess(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}
