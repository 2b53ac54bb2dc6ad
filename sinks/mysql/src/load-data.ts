import type { LogicalType } from '@highwater/core';

/**
 * MySQL `LOAD DATA LOCAL INFILE` for the sink's bulk path: the rows go as a stream of tab-separated
 * lines (https://mariadb.com/kb/en/load-data-infile/, https://dev.mysql.com/doc/refman/8.0/en/load-data.html).
 * With LOCAL the server cannot stop the client's stream, so a duplicate key or a value it cannot
 * store is skipped or converted with a warning instead of failing: the load's warnings are read
 * after it, and any of them fails it (see {@link loadWarningsError}).
 */

/** A column whose values are bytes (`BINARY`/`BLOB`, `BIT(n)`): sent as hex and decoded by `UNHEX` on the server. */
export function isBinaryColumn(type: LogicalType): boolean {
  return (
    type.kind === 'bytes' ||
    (type.kind === 'bits' &&
      type.varying !== true &&
      type.length !== undefined &&
      type.length >= 1 &&
      type.length <= 64)
  );
}

/** The `LOAD DATA` statement reading `columns` of `qualified` from the sink's stream. */
export function loadDataStatement(
  qualified: string,
  columns: readonly string[],
  types: readonly LogicalType[],
  quote: (identifier: string) => string,
): string {
  const targets: string[] = [];
  const decode: string[] = [];
  columns.forEach((c, i) => {
    const type = types[i];
    if (type !== undefined && isBinaryColumn(type)) {
      targets.push(`@hw${i}`);
      decode.push(`${quote(c)} = UNHEX(@hw${i})`);
    } else {
      targets.push(quote(c));
    }
  });
  // IGNORE is what LOCAL does anyway; written out so the statement says what happens to a duplicate.
  return (
    `LOAD DATA LOCAL INFILE 'highwater' IGNORE INTO TABLE ${qualified} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(', ')})` +
    (decode.length === 0 ? '' : ` SET ${decode.join(', ')}`)
  );
}

const SPECIAL = /[\\\n\r\t\0]/;
const SPECIALS = /[\\\n\r\t\0]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

/** A parameter (as `mysqlParam` gives it) as one field: `\N` for NULL, bytes as hex, specials escaped. */
export function loadField(param: unknown): string {
  if (param === null || param === undefined) return '\\N';
  if (param instanceof Uint8Array) return Buffer.from(param.buffer, param.byteOffset, param.byteLength).toString('hex');
  const text = String(param);
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c] as string) : text;
}

export function loadLine(params: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < params.length; i++) line += (i === 0 ? '' : '\t') + loadField(params[i]);
  return `${line}\n`;
}

/** MySQL's error number for a duplicate key (here: a warning of a LOCAL load). */
const DUPLICATE_ENTRY = 1062;

/** A `LOAD DATA` that skipped rows whose keys exist: the sink rolls it back and upserts instead. */
export class LoadDuplicateError extends Error {
  override readonly name = 'LoadDuplicateError';
}

/** A `LOAD DATA` that converted or cut a value (a strict-mode error anywhere else), named by the server's warning. */
export class LoadWarningError extends Error {
  override readonly name = 'LoadWarningError';
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

/**
 * The error a load with these warnings must fail with: a duplicate only → {@link LoadDuplicateError};
 * anything else → {@link LoadWarningError} with the first such warning (rows were skipped or changed).
 */
export function loadWarningsError(warnings: readonly { Code: number; Message: string }[], count: number): Error {
  const other = warnings.find((w) => Number(w.Code) !== DUPLICATE_ENTRY);
  if (other === undefined && warnings.length > 0) {
    return new LoadDuplicateError(`${count} rows of the load have keys the table has already`);
  }
  const first = other ?? { Code: 0, Message: `${count} warnings, none shown` };
  return new LoadWarningError(
    `the server changed or skipped a value of the load: ${first.Message}`,
    Number(first.Code),
  );
}
