import { HighwaterError, SinkError } from '@highwater/core';
import type { Dialect } from './dialect.js';

/** A target failure as a `SinkError` naming the target and table; lost connections and deadlocks are retriable. */
export function sinkError(dialect: Dialect, what: string, error: unknown, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const retriable = dialect.isConnectionLost(error) || dialect.isTransient(error);
  const where = table === undefined ? '' : ` (table ${table})`;
  return new SinkError(`${dialect.name} sink: ${what}${where} failed: ${message}`, {
    cause: error,
    retriable,
    ...(table === undefined ? {} : { table }),
  });
}
