import type { SchemaChangeEvent } from '@highwater/core';
import { tableName } from '@highwater/core';
import { allOf, needsAdapter, needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { changesOf } from '../support/consumer.js';
import { check, fail } from '../support/failure.js';
import { intKeyShape } from '../support/shapes.js';
import type { TableWriter } from '../support/writer.js';
import { createTable, openSource, randomWriteHooks, verifyOutput } from './common.js';

const needsInts = needsColumnTypes('int64', 'int32', 'string');
const shape = () => intKeyShape({ min: 0, max: 300 });

export const addTablesCase: ConformanceCase = {
  id: 'add-tables',
  title: 'a table added to a running source is snapshotted, then streamed, while the other tables stream on',
  purpose:
    'Streams one table, then creates a second, writes to it, and adds it with `source.addTables`; both tables are ' +
    'written while the new one is snapshotted (hooks write at its chunk boundaries) and afterwards.',
  passCondition:
    '`addTables` returns the new table; its rows are read once each, its later changes are emitted exactly once, the ' +
    'first table keeps streaming, and both materialise to exactly their tables.',
  requires: allOf(needsInts, needsAdapter('addTables', 'source.addTables')),
  async run(ctx) {
    const first = await createTable(ctx, 'first', shape(), 20);
    const writers: TableWriter[] = [first];
    const writes = randomWriteHooks(ctx, writers, { maxPerPhase: 1 });
    const { consumer, materialised } = await openSource(ctx, [first], {
      chunkSize: 6,
      parallelism: 2,
      phaseHooks: writes.hooks,
    });
    await consumer.snapshotDone([first.table]);
    await first.random(ctx.random, 5);
    const added = await createTable(ctx, 'added', shape(), 40);
    await added.random(ctx.random, 5);
    writers.push(added);
    materialised.track({ name: added.table, keyColumns: added.keyColumns });
    const chunksBefore = writes.chunks.size;
    const names = await consumer.source.addTables({ include: [added.table] });
    check(
      names.length === 1 && names[0] === added.table,
      () => `addTables returned ${JSON.stringify(names)}, expected [${JSON.stringify(added.table)}]`,
    );
    await added.random(ctx.random, 5);
    await first.random(ctx.random, 5);
    await consumer.snapshotDone([first.table, added.table], 'snapshotting the added table');
    await added.random(ctx.random, 10);
    await first.random(ctx.random, 5);
    await consumer.catchUp([first.table, added.table]);
    await verifyOutput(ctx, materialised, [first, added], 'after adding a table');
    check(writes.chunks.size - chunksBefore >= 2, 'the added table was not snapshotted in chunks');
    check(materialised.readCount(added.table) > 0, 'the added table was not snapshotted');
  },
};

export const schemaChangeCase: ConformanceCase = {
  id: 'schema-change-add-column',
  title: 'a column added while streaming: a schema event, then rows with the new column',
  purpose:
    'Streams a table, writes, adds a nullable string column, then updates every row and inserts new ones with a value ' +
    'in it.',
  passCondition:
    'A schema event for the table, whose schema has the new column, comes after every change made before the ' +
    'ALTER and before every change made after it; changes before it have no such column, changes after it all have ' +
    'it; the output equals the table.',
  requires: allOf(needsInts, needsAdapter('schemaChanges', 'schema change events')),
  async run(ctx) {
    const writer = await createTable(ctx, 'schema', shape(), 6);
    const { consumer, materialised } = await openSource(ctx, [writer]);
    await consumer.snapshotDone([writer.table]);
    const made = await writer.random(ctx.random, 4, { kinds: ['insert', 'update'], transactionChance: 0 });
    const madeBefore = writer.changes.length;
    await ctx.serial.run(() =>
      ctx.harness.alterTable(writer.table, { addColumn: { name: 'extra', type: { kind: 'string' }, nullable: true } }),
    );
    let i = 0;
    for (const before of [...writer.rows.values()]) {
      await ctx.serial.run(() => writer.apply([{ op: 'u', before, after: { ...before, extra: `e${i++}` } }]));
    }
    for (const row of [
      { id: 1001, v: 'new', n: 1, extra: 'x' },
      { id: 1002, v: 'new', n: 2, extra: null },
    ]) {
      await ctx.serial.run(() => writer.apply([{ op: 'c', before: null, after: row }]));
    }
    await consumer.catchUp([writer.table]);

    const events = consumer.events;
    const at = events.findIndex(
      (e) =>
        e.kind === 'schema' && e.table === writer.table && e.schema?.columns.some((c) => c.name === 'extra') === true,
    );
    if (at < 0) fail(`no schema event for ${writer.table} with the new column 'extra'`);
    const schemaEvent = events[at] as SchemaChangeEvent;
    check(
      schemaEvent.schema !== null && tableName(schemaEvent.schema.id) === writer.table,
      () => `the schema event names ${schemaEvent.schema === null ? 'no table' : tableName(schemaEvent.schema.id)}`,
    );
    const extra = schemaEvent.schema?.columns.find((c) => c.name === 'extra');
    check(
      extra?.type.kind === 'string',
      () => `the new column has type ${JSON.stringify(extra?.type)}, expected string`,
    );
    const earlier = changesOf(events.slice(0, at)).filter((e) => e.op !== 'r');
    const later = changesOf(events.slice(at + 1));
    check(
      earlier.length === made,
      () => `${earlier.length} changes came before the schema event; ${made} were made before the ALTER`,
    );
    check(
      earlier.every((e) => e.after === null || !('extra' in e.after)),
      'a change made before the ALTER carries the new column',
    );
    const madeAfter = writer.changes.length - madeBefore;
    check(
      later.length === madeAfter,
      () => `${later.length} changes came after the schema event; ${madeAfter} were made after the ALTER`,
    );
    check(
      later.every((e) => e.after !== null && 'extra' in e.after),
      'a change made after the ALTER lacks the new column',
    );
    await verifyOutput(ctx, materialised, [writer], 'after adding a column');
  },
};

export const truncateCase: ConformanceCase = {
  id: 'truncate',
  title: 'a truncate during the snapshot and while streaming empties the table in the output',
  purpose:
    'Truncates a table in the middle of its snapshot (from a phase hook, with chunks finished, open and not started) ' +
    'and again while streaming, inserting rows after each.',
  passCondition: 'A truncate event for each truncate, and the output (a truncate clears the table) equals the table.',
  requires: allOf(needsInts, needsAdapter('truncate', 'truncate events'), (caps) =>
    caps.harness.truncateTable ? null : 'the harness cannot truncate tables (truncateTable)',
  ),
  async run(ctx) {
    const writer = await createTable(ctx, 'truncate', shape(), 40);
    let truncated = false;
    const { consumer, materialised } = await openSource(ctx, [writer], {
      chunkSize: 8,
      parallelism: 2,
      phaseHooks: {
        async afterRead(split) {
          if (split.index !== 1 || truncated) return;
          truncated = true;
          await writer.truncate();
          await writer.random(ctx.random, 6, { kinds: ['insert'] });
        },
      },
    });
    await consumer.snapshotDone([writer.table]);
    check(truncated, 'the table was not truncated during its snapshot');
    await writer.random(ctx.random, 5);
    await writer.truncate();
    await writer.random(ctx.random, 8, { kinds: ['insert', 'insert', 'update'] });
    await consumer.catchUp([writer.table]);
    const truncates = consumer.events.filter((e) => e.kind === 'truncate' && e.table === writer.table).length;
    check(truncates === 2, () => `${truncates} truncate events for 2 truncates`);
    await verifyOutput(ctx, materialised, [writer], 'after truncates');
  },
};

export const progressWhenIdleCase: ConformanceCase = {
  id: 'progress-when-idle',
  title: 'the position advances past changes to tables the source does not capture',
  purpose:
    "Streams a table, then only moves the log (writes to the harness's own tables). The log reader must still report " +
    'progress — the same property that lets a chunk of an idle table finish — so checkpoints move on.',
  passCondition:
    "The checkpoint position reaches the database's position, and no event is emitted for the captured table.",
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'idle', shape(), 3);
    const { consumer } = await openSource(ctx, [writer], { startup: { mode: 'latest' } });
    await consumer.source.start();
    await writer.random(ctx.random, 2, { kinds: ['insert'] });
    await consumer.catchUp([writer.table]);
    const seen = changesOf(consumer.events).length;
    for (let i = 0; i < 3; i++) await ctx.poke();
    await consumer.catchUp([writer.table], 'waiting for the position to pass changes to other tables');
    check(changesOf(consumer.events).length === seen, 'changes to other tables were emitted');
  },
};
