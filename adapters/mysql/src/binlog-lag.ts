import { fileNumber } from './offsets/mysql-offset.js';

/** A row of `SHOW BINARY LOGS` (`File_size` is a number, or a string for large values). */
export interface BinaryLog {
  readonly Log_name: string;
  readonly File_size: number | string;
}

/**
 * Bytes of binlog after `position`: the rest of its file and every later file. What a reader at
 * `position` has still to read; it is also binlog the server must keep for it (until its expiry).
 */
export function binlogBytesAfter(logs: readonly BinaryLog[], position: { file: string; pos: number }): number {
  const current = fileNumber(position.file);
  let bytes = 0;
  for (const log of logs) {
    const n = fileNumber(log.Log_name);
    const size = Number(log.File_size);
    if (n === current) bytes += Math.max(0, size - position.pos);
    else if (n > current) bytes += size;
  }
  return bytes;
}
