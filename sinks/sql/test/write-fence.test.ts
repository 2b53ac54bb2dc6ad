import { FencedWriteError, type Sink, type WriteFence } from '@highwater/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkpoint,
  context,
  createSqlSink,
  insert,
  q,
  readSqlSinkCheckpoint,
  schemaChange,
  sinkConfig,
  table,
  type TargetKind,
  throwawayTarget,
  update,
} from './helpers.js';

const items = table(
  'items',
  [
    ['id', { kind: 'int32' }],
    ['name', { kind: 'string' }],
  ],
  ['id'],
);

const leader = (token: number): WriteFence => ({ scope: 'leader', token });
const chunk = (token: number): WriteFence => ({ scope: 'chunk:src.items:3', token });

/**
 * Two writers of one target that only the newest may write to (a deposed cluster leader and its
 * successor, two attempts of one chunk): the fencing token is checked in the batch's transaction.
 */
describe.each<TargetKind>(['postgres', 'mysql'])('fenced writes into the %s sink', (kind) => {
  const target = throwawayTarget(kind, 'f');
  const sinks: Sink[] = [];
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
  });

  async function writer(schema: string): Promise<Sink> {
    // Both writers open before either wrote: the later one's first write finds the other's rows.
    const config = { ...sinkConfig(kind, target.url, schema), existingRows: 'overwrite' as const };
    const sink = createSqlSink(config, context([items]));
    sinks.push(sink);
    await sink.open();
    return sink;
  }

  async function rows(schema: string): Promise<Record<string, unknown>[]> {
    return target.db.query(`SELECT id, name FROM ${q(kind, schema, 'items')} ORDER BY id`);
  }

  it('refuses the batch of an older leader epoch once a newer one has written; nothing of it is stored', async () => {
    const schema = await target.freshSchema();
    const deposed = await writer(schema);
    const successor = await writer(schema);
    await deposed.write({ events: [insert(items, { id: 1, name: 'a' })], checkpoint: checkpoint(1), fence: leader(7) });
    // The same writer's next batch carries the same token: it passes.
    await deposed.write({ events: [insert(items, { id: 2, name: 'b' })], checkpoint: checkpoint(2), fence: leader(7) });
    await successor.write({
      events: [update(items, { id: 2 }, { id: 2, name: 'b2' })],
      checkpoint: checkpoint(3),
      fence: leader(8),
    });
    const late = deposed.write({
      events: [update(items, { id: 2 }, { id: 2, name: 'stale' }), insert(items, { id: 9, name: 'stale' })],
      checkpoint: checkpoint(9),
      fence: leader(7),
    });
    await expect(late).rejects.toBeInstanceOf(FencedWriteError);
    await expect(late).rejects.toMatchObject({ code: 'HW_SINK_FENCED', scope: 'leader', token: 7, current: 8 });
    expect(await rows(schema)).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b2' },
    ]);
    expect((await readSqlSinkCheckpoint(sinkConfig(kind, target.url, schema), 'test-pipeline'))?.checkpoint).toEqual(
      checkpoint(3),
    );
    // The refused writer's connection is usable again (its transaction was rolled back), and the newer one goes on.
    await expect(deposed.write({ events: [], checkpoint: checkpoint(10), fence: leader(7) })).rejects.toBeInstanceOf(
      FencedWriteError,
    );
    await successor.write({
      events: [insert(items, { id: 4, name: 'd' })],
      checkpoint: checkpoint(4),
      fence: leader(8),
    });
    expect((await rows(schema)).map((r) => r.id)).toEqual([1, 2, 4]);
  });

  it('refuses an earlier attempt of a chunk once a later attempt has written, and keeps scopes apart', async () => {
    const schema = await target.freshSchema();
    const first = await writer(schema);
    const second = await writer(schema);
    await second.write({
      events: [insert(items, { id: 5, name: 'second' })],
      checkpoint: checkpoint(1),
      fence: chunk(12),
    });
    await expect(
      first.write({
        events: [insert(items, { id: 5, name: 'first' }), insert(items, { id: 6, name: 'first' })],
        checkpoint: checkpoint(1),
        fence: chunk(10),
      }),
    ).rejects.toMatchObject({ code: 'HW_SINK_FENCED', scope: 'chunk:src.items:3', token: 10, current: 12 });
    expect(await rows(schema)).toEqual([{ id: 5, name: 'second' }]);
    // Another chunk's (or the leader's) token is not compared with this one's.
    await first.write({
      events: [insert(items, { id: 7, name: 'other chunk' })],
      checkpoint: checkpoint(2),
      fence: { scope: 'chunk:src.items:4', token: 1 },
    });
    expect((await rows(schema)).map((r) => r.id)).toEqual([5, 7]);
  });

  it('makes an older writer waiting on the fence row see the newer token once that commits', async () => {
    const schema = await target.freshSchema();
    const older = await writer(schema);
    await older.write({ events: [insert(items, { id: 1, name: 'a' })], checkpoint: checkpoint(1), fence: leader(1) });
    // A newer writer in the middle of its transaction: it holds the fence row with token 2.
    const fences = q(kind, schema, 'highwater_fences');
    await target.db.query(kind === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
    let waiting: Promise<void>;
    try {
      await target.db.query(`UPDATE ${fences} SET token = 2 WHERE pipeline = 'test-pipeline' AND scope = 'leader'`);
      waiting = older.write({
        events: [update(items, { id: 1 }, { id: 1, name: 'stale' })],
        checkpoint: checkpoint(2),
        fence: leader(1),
      });
      waiting.catch(() => undefined);
      await target.db.query('COMMIT');
    } catch (error) {
      await target.db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    await expect(waiting).rejects.toBeInstanceOf(FencedWriteError);
    expect(await rows(schema)).toEqual([{ id: 1, name: 'a' }]);
  });

  it("refuses a stale writer's batch before its DDL: the target's columns stay as the newer writer left them", async () => {
    const schema = await target.freshSchema();
    const deposed = await writer(schema);
    const successor = await writer(schema);
    await deposed.write({ events: [insert(items, { id: 1, name: 'a' })], checkpoint: checkpoint(1), fence: leader(3) });
    await successor.write({
      events: [insert(items, { id: 2, name: 'b' })],
      checkpoint: checkpoint(2),
      fence: leader(4),
    });
    // The deposed leader's late batch adds a column (MySQL would commit that DDL at once, whatever the fence says next).
    const withNote = table(
      'items',
      [
        ['id', { kind: 'int32' }],
        ['name', { kind: 'string' }],
        ['note', { kind: 'string' }],
      ],
      ['id'],
    );
    await expect(
      deposed.write({
        events: [schemaChange(items, withNote), insert(withNote, { id: 3, name: 'c', note: 'stale' })],
        checkpoint: checkpoint(3),
        fence: leader(3),
      }),
    ).rejects.toMatchObject({ code: 'HW_SINK_FENCED', token: 3, current: 4 });
    const columns = await target.db.query(
      `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'items' ORDER BY ordinal_position`,
    );
    expect(columns.map((r) => r.c)).toEqual(['id', 'name']);
    expect((await rows(schema)).map((r) => r.id)).toEqual([1, 2]);
    // The newer writer's own schema change goes through.
    await successor.write({
      events: [schemaChange(items, withNote), insert(withNote, { id: 4, name: 'd', note: 'new' })],
      checkpoint: checkpoint(4),
      fence: leader(4),
    });
    expect((await rows(schema)).map((r) => r.id)).toEqual([1, 2, 4]);
  });

  it('leaves a write without a fence as it was: no fence table, nothing checked', async () => {
    const schema = await target.freshSchema();
    const sink = await writer(schema);
    await sink.write({ events: [insert(items, { id: 1, name: 'a' })], checkpoint: checkpoint(1) });
    expect(await target.db.tables(schema)).toEqual(['highwater_checkpoints', 'items']);
  });
});
