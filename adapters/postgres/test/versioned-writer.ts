import type { EventCheck, Random } from '@highwater/conformance';
import type { Row } from '@highwater/core';
import type pg from 'pg';
import { withClient } from './helpers.js';

/**
 * Writes for the kill/restart tests on a table `(id int4 PRIMARY KEY, v int4 NOT NULL, pad text)`
 * whose every update increments the version column `v`. Ids are never reused and an insert has
 * `v = 0`, so per key: one read or one insert, then updates whose `after.v` goes up by exactly one
 * each, then at most one delete ({@link versionCheck} checks that on every event). A new connection
 * per call: the server may have restarted.
 */
export class VersionedWriter {
  private nextId: number;
  private readonly live: number[] = [];
  writes = 0;

  constructor(
    private readonly url: string,
    readonly table: string,
    private readonly random: Random,
    initialRows: number,
  ) {
    this.nextId = initialRows + 1;
    for (let id = 1; id <= initialRows; id++) this.live.push(id);
  }

  /** Creates the table with `rows` rows (ids 1..rows, v = 0). */
  static async create(url: string, table: string, rows: number, random: Random): Promise<VersionedWriter> {
    await withClient(url, (c) =>
      c.query(`CREATE TABLE ${table} (id int4 PRIMARY KEY, v int4 NOT NULL, pad text);
        INSERT INTO ${table} SELECT g, 0, repeat(md5(g::text), 2) FROM generate_series(1, ${rows}) g`),
    );
    return new VersionedWriter(url, table, random, rows);
  }

  /** `n` random writes (inserts, updates, deletes), some of them several to one transaction. */
  async write(n: number): Promise<void> {
    await withClient(this.url, async (c) => {
      for (let done = 0; done < n; ) {
        const size = this.random.int(4) === 0 ? 2 + this.random.int(4) : 1;
        if (size > 1) await c.query('BEGIN');
        for (let i = 0; i < size; i++, done++) await this.one(c);
        if (size > 1) await c.query('COMMIT');
      }
    });
  }

  private async one(c: pg.Client): Promise<void> {
    this.writes++;
    const roll = this.random.int(10);
    if (roll < 3 || this.live.length < 10) {
      const id = this.nextId++;
      await c.query(`INSERT INTO ${this.table} VALUES ($1, 0, $2)`, [id, `w${this.writes}`]);
      this.live.push(id);
      return;
    }
    const at = this.random.int(this.live.length);
    const id = this.live[at] as number;
    if (roll < 8) {
      await c.query(`UPDATE ${this.table} SET v = v + 1, pad = $2 WHERE id = $1`, [id, `w${this.writes}`]);
      return;
    }
    await c.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
    this.live.splice(at, 1);
  }

  /** The table as it is. */
  async rows(): Promise<Row[]> {
    const result = await withClient(this.url, (c) => c.query<Row>(`SELECT id, v, pad FROM ${this.table}`));
    return result.rows;
  }
}

/**
 * The versioned table's rules, on top of the exactly-once ones: a read or insert never meets a key
 * any event touched before (ids are never reused), an insert has `v = 0`, and an update raises the
 * stored `v` by exactly one (so a lost or repeated update shows at once).
 */
export function versionCheck(table: string): EventCheck {
  return (e, output) => {
    if (e.kind !== 'change' || e.source.table !== table) return;
    const row = (e.after ?? e.before) as Row;
    const at = JSON.stringify(e.source.offset);
    if ((e.op === 'r' || e.op === 'c') && output.touched(table, row))
      output.problem(`${e.op} of id ${row.id} at ${at}: the key was already seen`);
    if (e.op === 'c' && row.v !== 0) output.problem(`insert of id ${row.id} at ${at} has v = ${row.v}`);
    const current = output.find(table, row);
    if (e.op === 'u' && current !== undefined && row.v !== (current.v as number) + 1)
      output.problem(`update of id ${row.id} at ${at}: v ${current.v} → ${row.v} (lost or repeated update)`);
  };
}
