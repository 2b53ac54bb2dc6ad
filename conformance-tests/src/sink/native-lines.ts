import type { Row } from '@highwater/core';
import type { StoredEvent } from './harness.js';

/**
 * One `native` event line (as `EventLineEncoder` writes it, for the file, stdout and NATS sinks)
 * back as the suite's event, for harnesses of sinks that keep events.
 */
export function storedEventOfNativeLine(line: string): StoredEvent {
  const e = JSON.parse(line) as {
    kind: 'change' | 'schema' | 'truncate';
    op: 'r' | 'c' | 'u' | 'd';
    key: Row;
    after: Row | null;
    table?: string;
    source: { table: string };
    schema?: { columns: { name: string }[] } | null;
  };
  switch (e.kind) {
    case 'change':
      return { kind: 'change', table: e.source.table, op: e.op, key: e.key, after: e.after };
    case 'schema':
      return { kind: 'schema', table: e.table as string, columns: e.schema?.columns.map((c) => c.name) ?? null };
    case 'truncate':
      return { kind: 'truncate', table: e.table as string };
  }
}
