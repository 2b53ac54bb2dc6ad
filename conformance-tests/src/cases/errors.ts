import type { Checkpoint, SourceAdapter } from '@highwater/core';
import { allOf, needsColumnTypes } from '../capabilities.js';
import type { ConformanceCase } from '../case.js';
import { Consumer, offsetOrder } from '../support/consumer.js';
import { fail } from '../support/failure.js';
import { Materialised } from '../support/materialised.js';
import { intKeyShape } from '../support/shapes.js';
import { createTable } from './common.js';
import { checkError, expectSourceError, sibling, without } from './expect-error.js';

const needsInts = needsColumnTypes('int64', 'int32', 'string');
const shape = () => intKeyShape({ min: 0, max: 100 });

export const missingKeyCase: ConformanceCase = {
  id: 'error-missing-key',
  title:
    'a table without a primary key is refused with MissingKeyError naming it — or snapshotted on a configured chunk key',
  purpose:
    'Captures a keyless table (the adapter must report its primary key as empty), then captures it in snapshot mode ' +
    'with `chunkKeys` naming a unique column.',
  passCondition:
    'The first fails with code HW_TABLE_WITHOUT_KEY and a message naming the table; the second reads every row once.',
  requires: needsColumnTypes('int32', 'string'),
  async run(ctx) {
    const table = await ctx.createTable({
      name: 'nokey',
      columns: [
        { name: 'code', type: { kind: 'int32' }, nullable: false },
        { name: 'v', type: { kind: 'string' } },
      ],
      // The chunk key must be known to be unique (an adapter that reports unique keys refuses one that is not).
      unique: [['code']],
    });
    const rows = Array.from({ length: 25 }, (_, i) => ({ code: i * 3, v: `r${i}` }));
    for (const row of rows) await ctx.harness.insert(table, row);
    const adapter = await ctx.createAdapter();
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [table] } },
      { codes: ['HW_TABLE_WITHOUT_KEY'], mentions: [table] },
      'capturing a table without a key',
    );
    const source = ctx.createSource({
      adapter,
      tables: { include: [table] },
      startup: { mode: 'snapshot' },
      chunkKeys: { [table]: ['code'] },
      chunkSize: 4,
    });
    const materialised = new Materialised([{ name: table, keyColumns: ['code'] }], offsetOrder(adapter));
    const consumer = new Consumer(ctx, source, adapter, (b) => materialised.apply(b.events));
    await consumer.toEnd('snapshotting a keyless table on a configured chunk key');
    materialised.assertNoProblems('keyless table on a chunk key');
    materialised.assertEquals(table, await ctx.harness.readTable(table), 'keyless table on a chunk key');
  },
};

export const unknownTableCase: ConformanceCase = {
  id: 'error-unknown-table',
  title: 'an unknown table is refused with TableNotFoundError naming it',
  purpose: 'Captures a table name that does not exist, and a pattern that matches nothing.',
  passCondition: 'Both fail with code HW_TABLE_NOT_FOUND, and the message names the table or pattern.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'known', shape(), 1);
    const adapter = await ctx.createAdapter();
    const missing = sibling(writer.table, 'hw_no_such_table');
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [missing] } },
      { codes: ['HW_TABLE_NOT_FOUND'], mentions: [missing] },
      'capturing a table that does not exist',
    );
    const pattern = sibling(writer.table, 'hw_nothing_matches_*');
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [pattern] } },
      { codes: ['HW_TABLE_NOT_FOUND'], mentions: [pattern] },
      'capturing a pattern that matches nothing',
    );
  },
};

export const offsetUnavailableCase: ConformanceCase = {
  id: 'error-offset-unavailable',
  title: 'a log position the database no longer has is refused with OffsetUnavailableError',
  purpose:
    'Makes the database lose its oldest log positions (harness.loseLogBefore), then starts from one of them, once as ' +
    "startup mode 'offset' and once by resuming a checkpoint.",
  passCondition: 'Both fail with code HW_OFFSET_UNAVAILABLE, never silently skipping the lost changes.',
  requires: allOf(needsInts, (caps) =>
    caps.harness.loseLog ? null : 'the harness cannot make the database lose log (loseLogBefore)',
  ),
  async run(ctx) {
    const writer = await createTable(ctx, 'lostlog', shape(), 3);
    const adapter = await ctx.createAdapter();
    const loseLog = ctx.harness.loseLogBefore;
    if (loseLog === undefined) fail('the harness has no loseLogBefore');
    const gone = await ctx.serial.run(() => loseLog.call(ctx.harness));
    if (gone === undefined) fail('loseLogBefore did not run');
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [writer.table] }, startup: { mode: 'offset', offset: gone } },
      { codes: ['HW_OFFSET_UNAVAILABLE'] },
      `starting from the lost offset ${JSON.stringify(gone)}`,
    );
    const checkpoint: Checkpoint = {
      version: 1,
      connector: adapter.name,
      position: gone,
      complete: false,
      tables: { [writer.table]: { phase: 'stream' } },
    };
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [writer.table] }, resumeFrom: checkpoint },
      { codes: ['HW_OFFSET_UNAVAILABLE'] },
      `resuming from a checkpoint at the lost offset ${JSON.stringify(gone)}`,
    );
  },
};

export const foreignCheckpointCase: ConformanceCase = {
  id: 'error-foreign-checkpoint',
  title:
    'a checkpoint from another connector, or with a position that is not an offset, is refused with CheckpointError',
  purpose:
    "Resumes from a checkpoint written by another adapter, then from one of this adapter's with a malformed position " +
    '(the codec must reject it, not misread it).',
  passCondition:
    'The first fails with code HW_CHECKPOINT_INVALID naming this adapter; the second with HW_CHECKPOINT_INVALID or HW_CONFIG.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'foreign', shape(), 1);
    const adapter = await ctx.createAdapter();
    const base: Checkpoint = {
      version: 1,
      connector: `not-${adapter.name}`,
      position: null,
      complete: false,
      tables: {},
    };
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [writer.table] }, resumeFrom: base },
      { codes: ['HW_CHECKPOINT_INVALID'], mentions: [adapter.name] },
      "resuming from another connector's checkpoint",
    );
    await expectSourceError(
      ctx,
      {
        adapter,
        tables: { include: [writer.table] },
        resumeFrom: { ...base, connector: adapter.name, position: { surely: ['not', 'an', 'offset', '☃'] } },
      },
      { codes: ['HW_CHECKPOINT_INVALID', 'HW_CONFIG'] },
      'resuming from a checkpoint with a malformed position',
    );
  },
};

export const unsupportedCase: ConformanceCase = {
  id: 'error-unsupported',
  title: 'a startup mode or addTables the adapter lacks is refused with UnsupportedError naming the adapter',
  purpose:
    "Starts sources in modes 'earliest' and 'timestamp' and adds a table to a running source. Where the adapter " +
    'declares the capability, it runs with the flag turned off instead, so the refusal is checked on every adapter.',
  passCondition: 'Each fails with code HW_UNSUPPORTED and a message naming the adapter.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'unsupported', shape(), 1);
    const real = await ctx.createAdapter();
    const modes = [
      ['startFromEarliest', { mode: 'earliest' }],
      ['startFromTimestamp', { mode: 'timestamp', timestamp: Date.now() }],
    ] as const;
    for (const [flag, startup] of modes) {
      const adapter = real.capabilities[flag] ? without(real, flag) : real;
      await expectSourceError(
        ctx,
        { adapter, tables: { include: [writer.table] }, startup },
        { codes: ['HW_UNSUPPORTED'], mentions: [real.name] },
        `startup mode '${startup.mode}' without ${flag}`,
      );
    }
    const other = await createTable(ctx, 'unsupported2', shape(), 1);
    const adapter = real.capabilities.addTables ? without(real, 'addTables') : real;
    const source = ctx.createSource({ adapter, tables: { include: [writer.table] }, startup: { mode: 'latest' } });
    await source.start();
    let error: unknown = null;
    try {
      await source.addTables({ include: [other.table] });
    } catch (e) {
      error = e;
    }
    if (error === null) fail('addTables without capabilities.addTables succeeded');
    checkError(error, { codes: ['HW_UNSUPPORTED'], mentions: [real.name] }, 'addTables without capabilities.addTables');
  },
};

export const badConfigurationCase: ConformanceCase = {
  id: 'error-bad-configuration',
  title: 'bad configuration is refused with a clear error naming the setting',
  purpose:
    'Creates sources with an invalid chunk size, an empty table list, a chunk key naming no column, and a startup ' +
    'offset that is not an offset of this adapter.',
  passCondition:
    'HW_CONFIG naming chunkSize and tables.include; HW_CONFIG (or HW_TABLE_WITHOUT_KEY) naming the missing column; ' +
    'HW_CONFIG or HW_CHECKPOINT_INVALID for the offset.',
  requires: needsInts,
  async run(ctx) {
    const writer = await createTable(ctx, 'badconfig', shape(), 1);
    const adapter = await ctx.createAdapter();
    const tables = { include: [writer.table] };
    await expectSourceError(
      ctx,
      { adapter, tables, chunkSize: 0 },
      { codes: ['HW_CONFIG'], mentions: ['chunkSize'] },
      'chunkSize 0',
    );
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [] } },
      { codes: ['HW_CONFIG'], mentions: ['tables.include'] },
      'an empty tables.include',
    );
    await expectSourceError(
      ctx,
      { adapter, tables, chunkKeys: { [writer.table]: ['no_such_column'] } },
      { codes: ['HW_CONFIG', 'HW_TABLE_WITHOUT_KEY'], mentions: ['no_such_column'] },
      'a chunk key naming no column',
    );
    await expectSourceError(
      ctx,
      { adapter, tables, startup: { mode: 'offset', offset: { surely: 'not an offset ☃' } } },
      { codes: ['HW_CONFIG', 'HW_CHECKPOINT_INVALID'] },
      'a malformed startup offset',
    );
  },
};

export const permissionCase: ConformanceCase = {
  id: 'error-permission',
  title: 'a user without the privileges CDC needs is refused with PermissionError',
  purpose: 'Captures a table through an adapter connected as an unprivileged user (harness.createUnprivilegedAdapter).',
  passCondition: 'The source fails with code HW_PERMISSION_DENIED.',
  requires: allOf(needsInts, (caps) =>
    caps.harness.unprivilegedAdapter
      ? null
      : 'the harness cannot connect without privileges (createUnprivilegedAdapter)',
  ),
  async run(ctx) {
    const writer = await createTable(ctx, 'noprivs', shape(), 1);
    const create = ctx.harness.createUnprivilegedAdapter;
    if (create === undefined) fail('the harness has no createUnprivilegedAdapter');
    const adapter = (await create.call(ctx.harness)) as SourceAdapter<unknown>;
    await expectSourceError(
      ctx,
      { adapter, tables: { include: [writer.table] } },
      { codes: ['HW_PERMISSION_DENIED'] },
      'capturing without privileges',
    );
  },
};
