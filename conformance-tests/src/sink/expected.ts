import type { EventBatch, Row, TableSchema, Value } from '@highwater/core';
import type { StoredData, StoredEvent } from './harness.js';
import { qualified } from './workload.js';

/**
 * A value as the suite compares it: its text. Destinations give numbers back as numbers, bigints or
 * decimal strings; the suite's values are integers, exact decimals and text, whose text is the same
 * in each of those forms.
 */
function canonical(value: Value | undefined): string | null {
  if (value === undefined) return '<column missing>';
  if (value === null) return null;
  return String(value);
}

function keyText(table: TableSchema, row: Row): string {
  return JSON.stringify(table.primaryKey.map((k) => canonical(row[k])));
}

/** A row with only `table`'s columns (missing ones null, as a column added later reads), values canonical. */
function project(table: TableSchema, row: Row, missing: 'null' | 'flag'): Record<string, string | null> {
  return Object.fromEntries(
    table.columns.map((c) => [c.name, c.name in row || missing === 'flag' ? canonical(row[c.name]) : null]),
  );
}

/** What a table sink should hold after `batches`: per source table, rows by key. */
export function expectedTables(
  batches: readonly EventBatch[],
  tables: readonly TableSchema[],
): Map<string, Map<string, Row>> {
  const keyed = new Map(tables.map((t) => [qualified(t), t]));
  const out = new Map<string, Map<string, Row>>();
  const rowsOf = (name: string) => {
    let rows = out.get(name);
    if (rows === undefined) {
      rows = new Map();
      out.set(name, rows);
    }
    return rows;
  };
  for (const batch of batches) {
    for (const event of batch.events) {
      if (event.kind === 'truncate') {
        rowsOf(event.table).clear();
      } else if (event.kind === 'change') {
        const table = keyed.get(event.source.table);
        if (table === undefined) throw new Error(`sink conformance: no table ${event.source.table} in the case`);
        const rows = rowsOf(event.source.table);
        if (event.before !== null) rows.delete(keyText(table, event.before));
        if (event.after !== null) rows.set(keyText(table, event.after), event.after);
      }
    }
  }
  return out;
}

/** The events an event-keeping sink should hold after `batches`, in order (heartbeats are not stored). */
export function expectedEvents(batches: readonly EventBatch[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const batch of batches) {
    for (const e of batch.events) {
      if (e.kind === 'change') {
        out.push({ kind: 'change', table: e.source.table, op: e.op, key: e.key, after: e.after });
      } else if (e.kind === 'schema') {
        out.push({ kind: 'schema', table: e.table, columns: e.schema?.columns.map((c) => c.name) ?? null });
      } else if (e.kind === 'truncate') {
        out.push({ kind: 'truncate', table: e.table });
      }
    }
  }
  return out;
}

/**
 * Differences between what is stored and what `batches` should have left, as sentences (empty when
 * they agree). `tables` are the source tables as of the end of `batches`.
 */
export function differences(
  stored: StoredData,
  batches: readonly EventBatch[],
  tables: readonly TableSchema[],
): string[] {
  return stored.kind === 'tables'
    ? tableDifferences(stored.tables, batches, tables)
    : eventDifferences(stored.events, batches);
}

const SHOWN = 3;

function tableDifferences(
  stored: ReadonlyMap<string, readonly Row[]>,
  batches: readonly EventBatch[],
  tables: readonly TableSchema[],
): string[] {
  const expected = expectedTables(batches, tables);
  const out: string[] = [];
  for (const table of tables) {
    const name = qualified(table);
    const want = new Map<string, string>();
    for (const [key, row] of expected.get(name) ?? []) want.set(key, JSON.stringify(project(table, row, 'null')));
    const have = new Map<string, string>();
    const duplicates: string[] = [];
    for (const row of stored.get(name) ?? []) {
      const key = keyText(table, row);
      if (have.has(key)) duplicates.push(key);
      have.set(key, JSON.stringify(project(table, row, 'flag')));
    }
    const missing = [...want.keys()].filter((k) => !have.has(k));
    const extra = [...have.keys()].filter((k) => !want.has(k));
    const changed = [...want.keys()].filter((k) => have.has(k) && have.get(k) !== want.get(k));
    if (duplicates.length > 0)
      out.push(`${name}: ${duplicates.length} keys stored twice, e.g. ${duplicates.slice(0, SHOWN).join(', ')}`);
    if (missing.length > 0)
      out.push(`${name}: ${missing.length} rows lost, e.g. keys ${missing.slice(0, SHOWN).join(', ')}`);
    if (extra.length > 0)
      out.push(`${name}: ${extra.length} rows that should not be there, e.g. keys ${extra.slice(0, SHOWN).join(', ')}`);
    for (const k of changed.slice(0, SHOWN))
      out.push(`${name} key ${k}: stored ${have.get(k)}, expected ${want.get(k)}`);
    if (changed.length > SHOWN) out.push(`${name}: ${changed.length} rows differ in all`);
  }
  return out;
}

function eventText(e: StoredEvent): string {
  switch (e.kind) {
    case 'change': {
      const values = (row: Row | null) =>
        row === null ? null : Object.fromEntries(Object.entries(row).map(([k, v]) => [k, canonical(v)]));
      return JSON.stringify([e.kind, e.table, e.op, values(e.key), values(e.after)]);
    }
    case 'schema':
      return JSON.stringify([e.kind, e.table, e.columns]);
    case 'truncate':
      return JSON.stringify([e.kind, e.table]);
  }
}

function eventDifferences(stored: readonly StoredEvent[], batches: readonly EventBatch[]): string[] {
  const want = expectedEvents(batches).map(eventText);
  const have = stored.map(eventText);
  const first = want.findIndex((w, i) => have[i] !== w);
  if (first === -1 && have.length === want.length) return [];
  const at = first === -1 ? want.length : first;
  return [
    `${have.length} events stored, ${want.length} expected; they differ from event ${at + 1}: ` +
      `stored ${have[at] ?? '(nothing)'}, expected ${want[at] ?? '(nothing)'}`,
  ];
}
