/**
 * Why the memory database refused an operation. Stable: tests and the adapter match on it.
 *
 * - `duplicate_key`: an insert or a key-moving update hit an existing primary key
 * - `row_not_found`: an update or delete named a key that has no row
 * - `not_null`: a non-nullable column was given `null` or left out
 * - `unknown_column`: a row names a column the table does not have
 * - `invalid_value`: a value does not fit its column's logical type
 * - `invalid_key`: a key has the wrong number of values for the table's primary key
 * - `table_exists` / `no_such_table`: DDL or DML on the wrong table name
 * - `invalid_definition`: a table or column definition is malformed
 * - `transaction_closed`: a transaction was used after it committed or rolled back
 * - `connection_closed`: a connection was used after `close()`
 * - `connection_lost`: an injected fault dropped the connection (see `MemoryFaults`)
 * - `log_position_gone`: a log read asked for entries removed by `truncateLogBefore`
 */
export type MemoryErrorCode =
  | 'duplicate_key'
  | 'row_not_found'
  | 'not_null'
  | 'unknown_column'
  | 'invalid_value'
  | 'invalid_key'
  | 'table_exists'
  | 'no_such_table'
  | 'invalid_definition'
  | 'transaction_closed'
  | 'connection_closed'
  | 'connection_lost'
  | 'log_position_gone';

/**
 * An error raised by the memory database itself — the equivalent of a driver's error (e.g.
 * node-postgres's `DatabaseError`). The adapter translates the ones the core must understand into
 * Highwater errors and keeps this one as their `cause`, as a real adapter does.
 */
export class MemoryDatabaseError extends Error {
  constructor(
    readonly code: MemoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MemoryDatabaseError';
  }
}
