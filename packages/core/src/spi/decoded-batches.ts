import type { Row } from '../values/value.js';
import type { UndecodedRows } from './source-adapter.js';

/**
 * `readChunk` for an adapter that implements `readUndecodedChunk`: the same rows decoded at once,
 * in batches of `batchSize` (the last may be smaller), so both give identical rows by construction.
 *
 * @example
 * readChunk(table, range) {
 *   return decodedBatches(this.readUndecodedChunk(table, range), this.batchSize);
 * }
 */
export async function* decodedBatches(
  undecoded: AsyncIterable<UndecodedRows>,
  batchSize: number,
): AsyncIterable<readonly Row[]> {
  let batch: Row[] = [];
  for await (const rows of undecoded) {
    for (const row of rows.decode()) {
      batch.push(row);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}
