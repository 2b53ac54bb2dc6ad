import { type Checkpoint, CheckpointError, type JsonValue } from '@highwater/core';
import type { SchemaChangesMode } from './schema-evolution.js';

/** The modes a refused schema change can be passed as (see {@link AcceptedSchemaChange}). */
export const ACCEPT_MODES = ['evolve', 'lenient', 'ignore'] as const;
export type AcceptMode = Exclude<SchemaChangesMode, 'exception'>;

/**
 * A schema change the sink refused (`SchemaChangeRefusedError`), recorded next to the stored
 * checkpoint so that `highwater schema-change accept` can name it; cleared by the next batch stored.
 */
export interface RefusedSchemaChange {
  /** The source table, qualified as in events (`shop.orders`). */
  readonly table: string;
  /** The kind of change (`add-column`, …). */
  readonly change: string;
  readonly column: string | null;
  /** The source offset of the DDL, as the event carried it. */
  readonly offset: JsonValue | null;
}

/**
 * A refused schema change the user has handled and lets through: a schema change (or truncate) of
 * `table` that the sink would refuse, at or before `through`, is decided as `as` would decide it.
 * Kept in the pipeline's checkpoint row until a batch that uses it, or whose checkpoint is past
 * `through`, commits.
 */
export interface AcceptedSchemaChange {
  /** The source table, qualified as in events (`shop.orders`). */
  readonly table: string;
  readonly as: AcceptMode;
  /** The refused DDL's source offset; null when unknown (then the table's next refused change is meant). */
  readonly through: JsonValue | null;
}

/** Fields of the stored checkpoint JSON beside the core's own (the core ignores them). */
export const ACCEPTED_FIELD = 'acceptedSchemaChanges';
export const REFUSED_FIELD = 'refusedSchemaChange';

/** What a stored checkpoint row holds besides the checkpoint. */
export interface SchemaChangeNotes {
  readonly accepted: readonly AcceptedSchemaChange[];
  readonly refused: RefusedSchemaChange | null;
}

function malformed(where: string, field: string, expected: string, found: unknown): CheckpointError {
  return new CheckpointError(
    `${where}: ${field} must be ${expected}, found ${JSON.stringify(found)}: run \`highwater schema-change accept\` ` +
      'again to rewrite it',
  );
}

/** The notes in a stored checkpoint's JSON (none when absent); a malformed one is a `CheckpointError`. */
export function schemaChangeNotesIn(json: unknown, where: string): SchemaChangeNotes {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { accepted: [], refused: null };
  const fields = json as Record<string, unknown>;
  const list = fields[ACCEPTED_FIELD] ?? [];
  const acceptedShape =
    'a list of {"table": "<source table>", "as": "evolve" | "lenient" | "ignore", "through": <offset>}';
  if (!Array.isArray(list)) throw malformed(where, ACCEPTED_FIELD, acceptedShape, list);
  const accepted = list.map((entry: unknown): AcceptedSchemaChange => {
    if (entry === null || typeof entry !== 'object') throw malformed(where, ACCEPTED_FIELD, acceptedShape, entry);
    const { table, as, through } = entry as Record<string, unknown>;
    if (typeof table !== 'string' || !(ACCEPT_MODES as readonly unknown[]).includes(as))
      throw malformed(where, ACCEPTED_FIELD, acceptedShape, entry);
    return { table, as: as as AcceptMode, through: (through ?? null) as JsonValue | null };
  });
  const raw = fields[REFUSED_FIELD];
  let refused: RefusedSchemaChange | null = null;
  if (raw !== undefined && raw !== null) {
    const { table, change, column, offset } = raw as Record<string, unknown>;
    if (typeof raw !== 'object' || typeof table !== 'string' || typeof change !== 'string')
      throw malformed(where, REFUSED_FIELD, '{"table", "change", "column", "offset"}', raw);
    refused = {
      table,
      change,
      column: typeof column === 'string' ? column : null,
      offset: (offset ?? null) as JsonValue | null,
    };
  }
  return { accepted, refused };
}

/** The checkpoint JSON to store: `checkpoint` with the notes that are still to be kept. */
export function checkpointWithNotes(checkpoint: Checkpoint, notes: Partial<SchemaChangeNotes>): string {
  const accepted = notes.accepted ?? [];
  const refused = notes.refused ?? null;
  return JSON.stringify({
    ...checkpoint,
    ...(accepted.length === 0 ? {} : { [ACCEPTED_FIELD]: accepted }),
    ...(refused === null ? {} : { [REFUSED_FIELD]: refused }),
  });
}
