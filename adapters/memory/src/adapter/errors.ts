import {
  AdapterError,
  ConnectionLostError,
  HighwaterError,
  OffsetUnavailableError,
  TableNotFoundError,
} from '@highwater/core';
import { MemoryDatabaseError } from '../database/errors.js';

/**
 * Translates what the database threw into the errors the core understands, keeping the original as
 * `cause` — every adapter has this function for its driver's errors. A lost connection is
 * retriable (the core reopens); everything else stops the source with a clear message.
 */
export function toHighwaterError(error: unknown, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  if (!(error instanceof MemoryDatabaseError)) {
    return new AdapterError(`memory: unexpected error: ${String(error)}`, { cause: error });
  }
  switch (error.code) {
    case 'connection_lost':
      return new ConnectionLostError(`memory: ${error.message}`, { cause: error });
    case 'log_position_gone':
      return new OffsetUnavailableError(`memory: ${error.message}`, { cause: error });
    case 'no_such_table':
      return new TableNotFoundError(table ?? 'unknown', `memory: ${error.message}`);
    default:
      return new AdapterError(`memory: ${error.message}`, { cause: error });
  }
}
