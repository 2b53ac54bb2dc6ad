import {
  type ChunkRange,
  type ChunkReader,
  type ColumnSchema,
  JsonText,
  type TableSchema,
  type Value,
} from '@highwater/core';
import type { Dialect } from '@highwater/sink-sql';
import { canonicalServerText } from './server-text.js';
import { ROW_SEPARATOR, type TextRow } from './text-reader.js';

/** Reads a chunk of the source as canonical text rows (a source with no SQL of its own to print values). */
export type SourceRowsReader = (table: TableSchema, range: ChunkRange) => Promise<TextRow[]>;

/**
 * The source side of a comparison for a source without a SQL server (MongoDB): the chunk's rows
 * as the adapter reads them, each value as the text the sink writes for it into the target
 * (`dialect.encode`), brought to the canonical form the target side's server text gets
 * (server-text.ts). JSON values compare by their JSON text, canonicalised. So what this compares
 * is the source as the adapter reads it with the target as stored: a value the sink changed on
 * the way differs; one the adapter itself read wrongly would not (see docs/verify.md).
 */
export function adapterRowsReader(reader: ChunkReader, targetDialect: Dialect): SourceRowsReader {
  return async (table, range) => {
    const keyIndexes = table.chunkKey.map((k) => table.columns.findIndex((c) => c.name === k));
    const out: TextRow[] = [];
    for await (const rows of reader.readChunk(table, range)) {
      for (const row of rows) {
        const texts = table.columns.map((c) => canonicalText(targetDialect, c, row[c.name] ?? null));
        out.push({
          key: keyIndexes.map((i) => texts[i]).join(ROW_SEPARATOR),
          display: `{${keyIndexes
            .map((i) => {
              const c = table.columns[i] as ColumnSchema;
              return `${JSON.stringify(c.name)}:${JSON.stringify(texts[i]?.slice(1) ?? null)}`;
            })
            .join(',')}}`,
          row: texts.join(ROW_SEPARATOR),
        });
      }
    }
    return out;
  };
}

function canonicalText(dialect: Dialect, column: ColumnSchema, value: Value): string {
  if (value === null) return 'N';
  if (value instanceof JsonText) return canonicalServerText(column.type, value.text, true);
  const encoded = dialect.encode(column.type, value, (why) => {
    throw new Error(`verify: ${column.name} value cannot be written to the target: ${why}`);
  });
  if (encoded === null || encoded === undefined) return 'N';
  const text = Buffer.isBuffer(encoded) ? `\\x${encoded.toString('hex')}` : String(encoded);
  return canonicalServerText(column.type, text, true);
}
