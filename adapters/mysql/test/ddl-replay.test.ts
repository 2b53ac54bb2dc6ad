import { describe, expect, it } from 'vitest';
import { type Checkpoint, createSource, type Row } from '@highwater/core';
import { columnClauses } from '../src/ddl.js';
import { describedAsOfStatement } from '../src/ddl-replay.js';
import { type DescribedTable, describeTable } from '../src/describe-tables.js';
import { mysqlAdapter } from '../src/index.js';
import { useMariadb } from './helpers.js';

const db = useMariadb();

/** What a described table says about its columns, without the decoder functions. */
const shape = (d: DescribedTable) => ({
  schema: { columns: d.schema.columns, primaryKey: d.schema.primaryKey },
  binlogColumns: d.binlogColumns,
  columns: d.columns,
  decoders: [...d.decoders.keys()],
});

describe('columnClauses', () => {
  it('reads the column clauses of an ALTER TABLE, and gives up on what it does not understand', () => {
    expect(
      columnClauses(
        'ALTER TABLE `t` ADD COLUMN c int AFTER a, DROP b, RENAME COLUMN x TO `y y`, CHANGE d d2 bigint FIRST, ' +
          "MODIFY e varchar(9), ALTER COLUMN f SET DEFAULT 'q', ADD INDEX i (a), DROP PRIMARY KEY, ENGINE=InnoDB",
      ),
    ).toEqual([
      { kind: 'add', name: 'c', position: { after: 'a' } },
      { kind: 'drop', name: 'b' },
      { kind: 'rename', from: 'x', to: 'y y' },
      { kind: 'redefine', from: 'd', to: 'd2', position: { first: true } },
      { kind: 'redefine', from: 'e', to: 'e', position: null },
      { kind: 'redefine', from: 'f', to: 'f', position: null },
      { kind: 'none' },
      { kind: 'primary-key' },
      { kind: 'none' },
    ]);
    expect(columnClauses('ALTER TABLE t ADD COLUMN (a int, b int)')).toBeNull();
    expect(columnClauses('ALTER TABLE t PARTITION BY HASH(id)')).toBeNull();
    expect(columnClauses('DROP TABLE t')).toBeNull();
  });
});

describe('describedAsOfStatement', () => {
  it('gives each of several DDLs read late the definition it left, as the catalog described it then', async () => {
    // Each definition is described when it is current; the replay of each statement on the one
    // before, with only the final catalog at hand, must give the same.
    const sql = db.sql();
    await sql.query("CREATE TABLE late (id int PRIMARY KEY, a int, b varchar(20) DEFAULT 'x', e int)");
    const id = { schema: 'highwater', name: 'late' };
    const statements = [
      "ALTER TABLE late ADD COLUMN c varchar(20) DEFAULT 'dflt' AFTER a",
      'ALTER TABLE late RENAME COLUMN b TO b2',
      'ALTER TABLE late MODIFY e bigint NOT NULL DEFAULT 0, DROP COLUMN a',
      'ALTER TABLE late ADD COLUMN f int FIRST, ADD INDEX i (e)',
    ];
    const definitions = [await describeTable(sql, id)];
    for (const s of statements) {
      await sql.query(s);
      definitions.push(await describeTable(sql, id));
    }
    const final = definitions.at(-1) as DescribedTable;
    let previous = definitions[0] as DescribedTable;
    for (const [i, s] of statements.entries()) {
      const replayed = describedAsOfStatement(previous, final, s);
      const expected = definitions[i + 1] as DescribedTable;
      if (i === statements.length - 1) {
        // The last statement: the catalog is not ahead, so the catalog is the answer (null).
        expect(replayed).toBeNull();
        break;
      }
      expect(replayed, s).not.toBeNull();
      expect(shape(replayed as DescribedTable), s).toEqual(shape(expected));
      previous = replayed as DescribedTable;
    }
  });

  it('leaves it to the catalog when the statement is not understood or names a column the catalog lost', async () => {
    const sql = db.sql();
    await sql.query('CREATE TABLE late2 (id int PRIMARY KEY, a int)');
    const id = { schema: 'highwater', name: 'late2' };
    const before = await describeTable(sql, id);
    await sql.query('ALTER TABLE late2 ADD COLUMN b int');
    await sql.query('ALTER TABLE late2 DROP COLUMN b');
    const final = await describeTable(sql, id);
    // b was added, then dropped by a later DDL: its definition is gone from the catalog.
    expect(describedAsOfStatement(before, final, 'ALTER TABLE late2 ADD COLUMN b int')).toBeNull();
    expect(describedAsOfStatement(before, final, 'ALTER TABLE late2 ADD COLUMN (b int, c int)')).toBeNull();
  });
});

describe('a table gone while the pipeline was down', () => {
  // Its binlog rows are decoded from the definition stored with the checkpoint. That definition
  // used to keep COLUMN_TYPE in lower case, so 'Green' came back as 'green' (and SET values likewise).
  it('decodes ENUM and SET values from the stored definition with their declared case (dropped and renamed)', async () => {
    const sql = db.sql();
    for (const t of ['hue_dropped', 'hue_renamed'])
      await sql.query(
        `CREATE TABLE ${t} (id int PRIMARY KEY, c ENUM('Red','Green','it''s'), s SET('Mon','TUE','wEd')); ` +
          `INSERT INTO ${t} VALUES (1, 'Red', 'Mon,wEd')`,
      );
    const tables = ['highwater.hue_dropped', 'highwater.hue_renamed'];
    const open = (resumeFrom: Checkpoint | null) =>
      createSource({
        adapter: mysqlAdapter({ connection: db.server().url, heartbeatMs: 50 }),
        tables: { include: tables },
        resumeFrom,
        heartbeatIntervalMs: 100,
      });
    const first = open(null);
    let checkpoint: Checkpoint | null = null;
    try {
      for await (const batch of first) {
        checkpoint = batch.checkpoint;
        if (first.metrics().state === 'stream') break;
      }
    } finally {
      await first.close();
    }
    // Stored and read back, as a checkpoint store does.
    const stored = JSON.parse(JSON.stringify(checkpoint)) as Checkpoint;
    expect(Object.keys(stored.schemas ?? {}).sort()).toEqual(tables);
    for (const t of ['hue_dropped', 'hue_renamed'])
      await sql.query(`INSERT INTO ${t} VALUES (2, 'Green', 'TUE'), (3, 'it''s', 'Mon,TUE,wEd')`);
    await sql.query('DROP TABLE hue_dropped; RENAME TABLE hue_renamed TO hue_renamed_later');
    const second = open(stored);
    const rows = new Map<string, Row>();
    try {
      for await (const batch of second) {
        for (const e of batch.events)
          if (e.kind === 'change' && e.after !== null) rows.set(`${e.source.table}/${e.after.id}`, e.after);
        if (rows.has('highwater.hue_dropped/3') && rows.has('highwater.hue_renamed/3')) break;
      }
    } finally {
      await second.close();
    }
    for (const t of tables) {
      expect(rows.get(`${t}/2`), t).toMatchObject({ c: 'Green', s: 'TUE' });
      expect(rows.get(`${t}/3`), t).toMatchObject({ c: "it's", s: 'Mon,TUE,wEd' });
    }
  }, 120_000);
});
