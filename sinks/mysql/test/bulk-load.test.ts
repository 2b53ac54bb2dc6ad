import { type Row, SinkError, type TableSchema } from '@highwater/core';
import { BULK_MIN_ROWS } from '@highwater/sink-sql';
import { startMariadb, type ThrowawayServer } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataStatement, loadLine, mysqlDialect, mysqlSink } from '../src/index.js';
import { change as changeOf, checkpoint } from './events.js';

const items: TableSchema = {
  id: { schema: 'src', name: 'items' },
  columns: [
    { name: 'id', type: { kind: 'int32' }, nativeType: 'int', nullable: false },
    { name: 'name', type: { kind: 'string', length: 20 }, nativeType: 'varchar(20)', nullable: true },
    { name: 'data', type: { kind: 'bytes', length: 8 }, nativeType: 'varbinary(8)', nullable: true },
    { name: 'flags', type: { kind: 'bits', length: 12 }, nativeType: 'bit(12)', nullable: true },
  ],
  primaryKey: ['id'],
  chunkKey: ['id'],
};

const change = (op: 'r' | 'u', after: Row) => changeOf(items, op, after);

const row = (id: number, name: string): Row => ({
  id,
  name,
  data: new Uint8Array([id % 256, 0, 9, 10, 92, 255]),
  flags: '101000000001',
});

describe('LOAD DATA lines and statement', () => {
  it('escapes what the format reads specially and sends bytes as hex for UNHEX', () => {
    expect(loadLine([1, 'a\tb\nc\\d\re\0f', null, Buffer.from([0, 255])])).toBe(
      '1\ta\\tb\\nc\\\\d\\re\\0f\t\\N\t00ff\n',
    );
    const sql = loadDataStatement(
      '`t`.`items`',
      ['id', 'data', 'flags', 'v'],
      [{ kind: 'int32' }, { kind: 'bytes' }, { kind: 'bits', length: 12 }, { kind: 'bits', varying: true, length: 40 }],
      mysqlDialect.quote,
    );
    expect(sql).toContain("LOAD DATA LOCAL INFILE 'highwater' IGNORE INTO TABLE `t`.`items` CHARACTER SET utf8mb4");
    expect(sql).toContain('(`id`, @hw1, @hw2, `v`) SET `data` = UNHEX(@hw1), `flags` = UNHEX(@hw2)');
  });
});

describe('the mysql sink writes many rows with LOAD DATA LOCAL INFILE', () => {
  let server: ThrowawayServer;
  let db: mysql.Connection;
  let n = 0;
  const warnings: string[] = [];
  const context = {
    pipelineName: 'bulk',
    logger: { info: () => undefined, debug: () => undefined, warn: (_f: object, m: string) => void warnings.push(m) },
    describeTables: async () => [items],
  };
  const sinkIn = (schema: string) =>
    mysqlSink({ connection: server.url, schema, tableNaming: 'table', createTables: true }, context);
  /** LOAD DATA statements the server has run (`Com_load`). */
  const loads = async () => {
    const [rows] = await db.query("SHOW GLOBAL STATUS LIKE 'Com_load'");
    return Number((rows as { Value: string }[])[0]?.Value);
  };
  const stored = async (schema: string) =>
    (
      await db.query(`SELECT id, name, HEX(data) AS data, BIN(flags) AS flags FROM \`${schema}\`.items ORDER BY id`)
    )[0] as Record<string, unknown>[];

  beforeAll(async () => {
    server = await startMariadb({ useEnv: false });
    db = await mysql.createConnection({ uri: server.url });
  });
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await server?.stop();
  });

  it('loads a chunk, replaces it through a stage when written again, and upserts many updates as statements', async () => {
    const schema = `bulk${++n}`;
    const sink = sinkIn(schema);
    await sink.open();
    const count = BULK_MIN_ROWS * 3;
    const chunk = (name: string) => Array.from({ length: count }, (_, i) => change('r', row(i + 1, `${name}\t${i}\\`)));
    let before = await loads();
    await sink.write({ events: chunk('first'), checkpoint: checkpoint(1) });
    expect(await loads()).toBe(before + 1);
    const first = await stored(schema);
    expect(first).toHaveLength(count);
    expect(first[0]).toEqual({ id: 1, name: 'first\t0\\', data: '0100090A5CFF', flags: '101000000001' });

    // The same chunk again (a restart in the middle of the table): the load meets its keys, is rolled
    // back to its savepoint, and the rows go through a stage instead: replaced, not doubled.
    before = await loads();
    await sink.write({ events: chunk('again'), checkpoint: checkpoint(2) });
    expect(await loads()).toBe(before + 2);
    const again = await stored(schema);
    expect(again).toHaveLength(count);
    expect(again.every((r) => String(r.name).startsWith('again'))).toBe(true);

    before = await loads();
    const names = Array.from({ length: count }, (_, i) => `upd ${i}`);
    const updates = names.map((name, i) => change('u', row(i + 1, name)));
    await sink.write({ events: updates, checkpoint: checkpoint(3) });
    // Updates go as multi-row upserts in the batch's one multi-statement query, not through a stage.
    expect(await loads()).toBe(before);
    expect((await stored(schema)).map((r) => r.name)).toEqual(names);
    await sink.close();
    expect(warnings).toEqual([]);
  });

  it('fails the batch, storing nothing, when the server would cut a value (strict mode, as statements are)', async () => {
    const schema = `bulk${++n}`;
    const sink = sinkIn(schema);
    await sink.open();
    const events = Array.from({ length: BULK_MIN_ROWS }, (_, i) =>
      change('r', row(i + 1, i === 10 ? 'far too long for twenty characters' : 'ok')),
    );
    const error = await sink.write({ events, checkpoint: checkpoint(1) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as Error).message).toMatch(/table `bulk\d+`\.`items`.*changed or skipped a value.*name/);
    await sink.close();
    const again = sinkIn(schema);
    expect(await again.open()).toBeNull();
    await again.close();
    expect(await stored(schema)).toEqual([]);
  });

  it('falls back to statements, once and said, when the server refuses LOCAL INFILE', async () => {
    const schema = `bulk${++n}`;
    await db.query('SET GLOBAL local_infile = 0');
    try {
      const sink = sinkIn(schema);
      await sink.open();
      const before = await loads();
      const events = Array.from({ length: BULK_MIN_ROWS * 2 }, (_, i) => change('r', row(i + 1, 'plain')));
      await sink.write({ events, checkpoint: checkpoint(1) });
      await sink.write({ events: events.map((e) => ({ ...e, op: 'u' as const })), checkpoint: checkpoint(2) });
      // One refused attempt (the server counts it), then statements only.
      expect(await loads()).toBe(before + 1);
      expect(await stored(schema)).toHaveLength(BULK_MIN_ROWS * 2);
      expect(warnings.filter((w) => w.includes('refuses bulk loads'))).toHaveLength(1);
      await sink.close();
    } finally {
      await db.query('SET GLOBAL local_infile = 1');
    }
  });
});
