import { HighwaterError } from '../errors/errors.js';
import type { ChangeEvent } from '../events/source-event.js';
import type { Row } from '../values/value.js';

/** Flink's changelog row kinds: insert, update-before, update-after, delete. */
export type RowKind = '+I' | '-U' | '+U' | '-D';

/**
 * A change event as Flink-style changelog rows:
 *
 * - `r` (snapshot read) and `c` → `+I` with `after`
 * - `u` → `-U` with `before`, then `+U` with `after`
 * - `d` → `-D` with `before`
 *
 * The rows are the event's own objects, not copies.
 *
 * **Partial before-images.** When the source logs only the key of the old row (`beforeImage: 'key'`,
 * e.g. Postgres without `REPLICA IDENTITY FULL`), the `-U` and `-D` rows carry that key-only row:
 * the key columns and nothing else (other columns are absent, not null). When an update or delete
 * has no before-image at all (`before: null`), the event's `key` row stands in for it, so `-U` and
 * `-D` always identify the row. A consumer that needs whole `-U`/`-D` rows (Flink's retracting
 * aggregates) must look them up itself, or capture with full before-images; a keyed upsert sink
 * needs only the key.
 *
 * Columns listed in the event's `unknownColumns` are absent from the `+I`/`+U` row too.
 *
 * Throws a `HighwaterError` (`HW_INVALID_EVENT`) for a read, insert or update without `after`.
 */
export function toRowKinds(event: ChangeEvent): Array<{ kind: RowKind; row: Row }> {
  switch (event.op) {
    case 'r':
    case 'c':
      return [{ kind: '+I', row: afterOf(event) }];
    case 'u':
      return [
        { kind: '-U', row: event.before ?? event.key },
        { kind: '+U', row: afterOf(event) },
      ];
    case 'd':
      return [{ kind: '-D', row: event.before ?? event.key }];
  }
}

function afterOf(event: ChangeEvent): Row {
  if (event.after === null)
    throw new HighwaterError(
      'HW_INVALID_EVENT',
      `a '${event.op}' event on ${event.source.table} has no after-image (key ${JSON.stringify(Object.keys(event.key))})`,
    );
  return event.after;
}
