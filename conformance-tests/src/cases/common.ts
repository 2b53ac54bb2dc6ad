import type { ChangeEvent, Row, SnapshotPhaseHooks, SourceAdapter, SourceEvent, SourceOptions } from '@highwater/core';
import { tableName } from '@highwater/core';
import type { CaseContext } from '../case.js';
import { Consumer, offsetOrder } from '../support/consumer.js';
import { check, fail } from '../support/failure.js';
import { compareRows, Materialised } from '../support/materialised.js';
import type { RowShape } from '../support/writer.js';
import { type ExpectedChange, TableWriter } from '../support/writer.js';
import { formatRow, keyId, keyRowOf, rowDifference, rowEquals } from '../support/values.js';

/** A table made for a case, with its writer (and model). */
export async function createTable(
  ctx: CaseContext,
  name: string,
  shape: RowShape,
  rows: number | readonly Row[] = 0,
): Promise<TableWriter> {
  const table = await ctx.createTable({ name, columns: shape.columns, primaryKey: shape.keyColumns });
  const writer = new TableWriter(ctx, table, shape);
  if (typeof rows !== 'number') await writer.fill(rows);
  else if (rows > 0) {
    const random = ctx.random.fork(`fill:${name}`);
    const model = new Map<string, Row>();
    const taken = (r: Row) => model.has(keyId(shape.keyColumns, r));
    for (let i = 0; i < rows; i++) {
      const row = shape.fresh(random, taken);
      model.set(keyId(shape.keyColumns, row), row);
    }
    await writer.fill([...model.values()]);
  }
  return writer;
}

/** Integer rows `{id, v, n}` for the given ids. */
export function intRows(ids: Iterable<number>): Row[] {
  return [...ids].map((id) => ({ id, v: `r${id}`, n: id % 1000 }));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** A source on the given writers' tables, with a consumer that materialises every batch. */
export async function openSource(
  ctx: CaseContext,
  writers: readonly TableWriter[],
  options: Omit<SourceOptions<unknown>, 'adapter' | 'tables'> & { readonly adapter?: SourceAdapter<unknown> } = {},
): Promise<{ consumer: Consumer; materialised: Materialised; adapter: SourceAdapter<unknown> }> {
  const adapter = options.adapter ?? (await ctx.createAdapter());
  const source = ctx.createSource({ ...options, adapter, tables: { include: writers.map((w) => w.table) } });
  const materialised = new Materialised(
    writers.map((w) => ({ name: w.table, keyColumns: w.keyColumns })),
    offsetOrder(adapter),
  );
  const consumer = new Consumer(ctx, source, adapter, (batch) => materialised.apply(batch.events));
  return { consumer, materialised, adapter };
}

/**
 * Checks the output: exactly-once on every key, and the materialised rows equal to each table's
 * rows (which must also equal what the writer wrote: otherwise the harness is at fault, and the
 * message says so). Reports every broken rule and every difference together.
 */
export async function verifyOutput(
  ctx: CaseContext,
  materialised: Materialised,
  writers: readonly TableWriter[],
  what: string,
): Promise<void> {
  const reports: string[] = [];
  const problems = materialised.problemReport();
  if (problems !== null) reports.push(problems);
  for (const w of writers) {
    const rows = await ctx.harness.readTable(w.table);
    const harnessErrors = compareRows(w.rows, rows, w.keyColumns);
    check(
      harnessErrors.length === 0,
      () =>
        `${what}: the harness is inconsistent: readTable(${w.table}) does not return what the case wrote (${harnessErrors.slice(0, 3).join('; ')})`,
    );
    const differences = materialised.differenceReport(w.table, rows);
    if (differences !== null) reports.push(differences);
  }
  check(reports.length === 0, () => `${what}: ${reports.join('\n')}`);
}

/** Every event of the adapter carries its name and the captured table's name. */
export function checkMetadata(events: readonly SourceEvent[], adapter: SourceAdapter<unknown>, what: string): void {
  for (const e of events) {
    if (e.kind === 'heartbeat') continue;
    check(
      e.source.connector === adapter.name,
      () => `${what}: source.connector is '${e.source.connector}', the adapter is '${adapter.name}'`,
    );
    check(
      tableName(e.source.tableId) === e.source.table,
      () => `${what}: source.tableId ${JSON.stringify(e.source.tableId)} does not name source.table ${e.source.table}`,
    );
    if (e.kind === 'change') {
      check(
        e.source.snapshot === (e.op === 'r'),
        () => `${what}: a '${e.op}' event has source.snapshot ${e.source.snapshot}`,
      );
    }
  }
}

function describeChange(c: { op: string; before: Row | null; after: Row | null }): string {
  return `${c.op} ${formatRow(c.after ?? c.before)}`;
}

/**
 * Checks that the change events (reads left out) are exactly the expected changes, in order, with
 * correct images: `after` equal to the row written, `before` the whole previous row (`full`) or its
 * key (`key`), `key` the primary key, and no unknown columns.
 */
export function checkChanges(
  events: readonly ChangeEvent[],
  expected: readonly ExpectedChange[],
  keyColumns: readonly string[],
  what: string,
): void {
  const got = events.filter((e) => e.op !== 'r');
  const n = Math.max(got.length, expected.length);
  for (let i = 0; i < n; i++) {
    const e = got[i];
    const x = expected[i];
    const where = () =>
      `${what}: change #${i + 1} of ${expected.length} expected (${got.length} emitted): expected ${x === undefined ? 'nothing' : describeChange(x)}, got ${e === undefined ? 'nothing' : describeChange(e)}`;
    if (e === undefined || x === undefined || e.op !== x.op) fail(where());
    if (x.after !== null) {
      check(
        e.after !== null && rowEquals(e.after, x.after),
        () => `${where()} — after-image: ${rowDifference(e.after ?? {}, x.after as Row)}`,
      );
    }
    check(e.unknownColumns.length === 0, () => `${where()} — unknownColumns ${e.unknownColumns.join(', ')}`);
    const keyRow = keyRowOf(keyColumns, (x.after ?? x.before) as Row);
    check(rowEquals(e.key, keyRow), () => `${where()} — key ${formatRow(e.key)}, expected ${formatRow(keyRow)}`);
    if (x.before === null) {
      check(
        e.before === null && e.beforeImage === 'none',
        () => `${where()} — an insert has before ${formatRow(e.before)} (${e.beforeImage})`,
      );
      continue;
    }
    const before = e.before;
    if (e.beforeImage === 'full') {
      check(
        before !== null && rowEquals(before, x.before),
        () => `${where()} — before-image: ${rowDifference(before ?? {}, x.before as Row)}`,
      );
    } else if (e.beforeImage === 'key') {
      const k = keyRowOf(keyColumns, x.before);
      check(
        before !== null && rowEquals(before, k),
        () => `${where()} — key before-image ${formatRow(before)}, expected ${formatRow(k)}`,
      );
    } else {
      fail(`${where()} — an update or delete with beforeImage 'none'`);
    }
  }
}

/**
 * Phase hooks that write random changes to the writers' tables at every chunk boundary (each write
 * under the case's lock), and count the chunks read and the rows each read returned.
 */
export function randomWriteHooks(
  ctx: CaseContext,
  writers: readonly TableWriter[],
  options: { readonly maxPerPhase?: number } = {},
): { hooks: SnapshotPhaseHooks<unknown>; chunks: Set<string>; maxRowsRead: () => number; writes: () => number } {
  const random = ctx.random.fork('hook-writes');
  const chunks = new Set<string>();
  let writes = 0;
  let maxRows = 0;
  const max = options.maxPerPhase ?? 2;
  const write = async (table: string) => {
    // Looked up at each call: the caller may add writers for tables added later.
    const writer = writers.find((w) => w.table === table);
    if (writer !== undefined) writes += await writer.random(random, random.int(max + 1));
  };
  return {
    hooks: {
      beforeLowWatermark: (split) => write(split.table),
      afterLowWatermark: (split) => {
        chunks.add(split.id);
        return write(split.table);
      },
      afterRead: (split, rows) => {
        maxRows = Math.max(maxRows, rows);
        return write(split.table);
      },
      beforeHighWatermark: (split) => write(split.table),
      afterHighWatermark: (split) => write(split.table),
    },
    chunks,
    maxRowsRead: () => maxRows,
    writes: () => writes,
  };
}
