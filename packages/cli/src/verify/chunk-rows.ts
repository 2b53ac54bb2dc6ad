import { createHash } from 'node:crypto';
import type { TextRow } from './text-reader.js';

/** One side of a chunk: canonical rows by canonical key, and an order-independent checksum of them. */
export interface ChunkRows {
  readonly rows: Map<string, string>;
  /** Canonical key → the key as readable JSON, for reports. */
  readonly keys: Map<string, string>;
  /** Sum of the rows' 128-bit hashes modulo 2^128: independent of row order. */
  sum: bigint;
}

const MOD = 1n << 128n;

export function emptyChunk(): ChunkRows {
  return { rows: new Map(), keys: new Map(), sum: 0n };
}

function hash(text: string): bigint {
  return BigInt(`0x${createHash('md5').update(text).digest('hex')}`);
}

/** Adds rows read as canonical server texts (see text-reader.ts). */
export function addTextRows(chunk: ChunkRows, rows: readonly TextRow[]): void {
  for (const row of rows) {
    chunk.rows.set(row.key, row.row);
    chunk.keys.set(row.key, row.display);
    chunk.sum = (chunk.sum + hash(row.row)) % MOD;
  }
}

export function sameChecksum(a: ChunkRows, b: ChunkRows): boolean {
  return a.rows.size === b.rows.size && a.sum === b.sum;
}
