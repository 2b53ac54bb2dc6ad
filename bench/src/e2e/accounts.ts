/**
 * The end-to-end benchmarks' data: a pgbench_accounts-like table (int key, two ints, an 84-character
 * filler) and a stream of changes to it, written on the source server and — for the bare apply
 * loop — the very same changes computed here.
 */

/** Postgres and MariaDB column definitions (the same four columns). */
export const ACCOUNT_COLUMNS = {
  postgres: 'aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84)',
  mysql: 'aid INT PRIMARY KEY, bid INT NOT NULL, abalance INT NOT NULL, filler CHAR(84)',
} as const;

/** `SELECT` list of the row with key `g` (an SQL expression), as both servers compute it. */
export function accountValues(dialect: 'postgres' | 'mysql', g: string): string {
  return dialect === 'postgres'
    ? `${g}, (${g} - 1) / 100000 + 1, ${g} % 1000, rpad(${g}::text, 84, 'x')`
    : `${g}, (${g} - 1) DIV 100000 + 1, ${g} % 1000, rpad(${g}, 84, 'x')`;
}

export interface AccountRow {
  readonly aid: number;
  readonly bid: number;
  readonly abalance: number;
  readonly filler: string;
}

/** The row with key `g`, as {@link accountValues} makes it. */
export function accountRow(g: number): AccountRow {
  return { aid: g, bid: Math.floor((g - 1) / 100_000) + 1, abalance: g % 1000, filler: String(g).padEnd(84, 'x') };
}

/**
 * The stream workload: `transactions` transactions of `2h` changes. Transaction `t` inserts keys
 * `t·h + 1 … t·h + h`; every transaction after the first also adds 1 to `abalance` of the first `u`
 * keys the previous one inserted and deletes the rest of them.
 */
export interface StreamWorkload {
  readonly transactions: number;
  readonly h: number;
  readonly u: number;
  /** Row changes in all: `(2·transactions − 1)·h`. */
  readonly changes: number;
}

export function streamWorkload(changes: number, txSize: number): StreamWorkload {
  const tx = Math.max(2, Math.round(txSize / 2) * 2);
  const h = tx / 2;
  const u = Math.ceil(h / 2);
  const transactions = Math.ceil((changes + h) / tx);
  return { transactions, h, u, changes: (2 * transactions - 1) * h };
}

/** Server-side code writing the workload into `table`, one transaction per iteration. */
export function workloadSql(dialect: 'postgres' | 'mysql', table: string, w: StreamWorkload): string {
  const { transactions, h, u } = w;
  if (dialect === 'postgres') {
    return `DO $$
      BEGIN
        FOR t IN 0..${transactions - 1} LOOP
          INSERT INTO ${table} SELECT ${accountValues('postgres', 'g')} FROM generate_series(t * ${h} + 1, t * ${h} + ${h}) g;
          IF t > 0 THEN
            UPDATE ${table} SET abalance = abalance + 1 WHERE aid BETWEEN (t - 1) * ${h} + 1 AND (t - 1) * ${h} + ${u};
            DELETE FROM ${table} WHERE aid BETWEEN (t - 1) * ${h} + ${u + 1} AND t * ${h};
          END IF;
          COMMIT;
        END LOOP;
      END $$`;
  }
  return `CREATE PROCEDURE bench_e2e_write()
    BEGIN
      DECLARE t INT DEFAULT 0;
      WHILE t < ${transactions} DO
        START TRANSACTION;
        INSERT INTO ${table} SELECT ${accountValues('mysql', `(t * ${h} + seq)`)} FROM seq_1_to_${h};
        IF t > 0 THEN
          UPDATE ${table} SET abalance = abalance + 1 WHERE aid BETWEEN (t - 1) * ${h} + 1 AND (t - 1) * ${h} + ${u};
          DELETE FROM ${table} WHERE aid BETWEEN (t - 1) * ${h} + ${u + 1} AND t * ${h};
        END IF;
        COMMIT;
        SET t = t + 1;
      END WHILE;
    END`;
}

/** One change of the workload: the row after it, or the deleted key. */
export type AccountChange =
  | { readonly op: 'upsert'; readonly row: AccountRow }
  | { readonly op: 'delete'; readonly aid: number };

/** The workload's changes in commit order, grouped into batches of whole transactions of about `batchSize` changes. */
export function* workloadBatches(w: StreamWorkload, batchSize: number): Generator<AccountChange[]> {
  let batch: AccountChange[] = [];
  for (let t = 0; t < w.transactions; t++) {
    for (let g = t * w.h + 1; g <= t * w.h + w.h; g++) batch.push({ op: 'upsert', row: accountRow(g) });
    if (t > 0) {
      for (let g = (t - 1) * w.h + 1; g <= (t - 1) * w.h + w.u; g++) {
        const row = accountRow(g);
        batch.push({ op: 'upsert', row: { ...row, abalance: row.abalance + 1 } });
      }
      for (let g = (t - 1) * w.h + w.u + 1; g <= t * w.h; g++) batch.push({ op: 'delete', aid: g });
    }
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A batch reduced to its outcome per key (the last change wins): rows to upsert, keys to delete. */
export function coalesce(batch: readonly AccountChange[]): { upserts: AccountRow[]; deletes: number[] } {
  const last = new Map<number, AccountRow | null>();
  for (const c of batch) {
    if (c.op === 'upsert') last.set(c.row.aid, c.row);
    else last.set(c.aid, null);
  }
  const upserts: AccountRow[] = [];
  const deletes: number[] = [];
  for (const [aid, row] of last) {
    if (row === null) deletes.push(aid);
    else upserts.push(row);
  }
  return { upserts, deletes };
}
