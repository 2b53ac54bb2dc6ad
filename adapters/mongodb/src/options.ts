import type { ConnectionSettings } from './connection.js';

/**
 * How the full changelog (before- and after-images) is produced; chosen per pipeline.
 * See docs/adapters/mongodb.md, "Three ways to a full changelog".
 */
export type ChangelogMode = 'preImages' | 'normalize' | 'upsert';

export interface MongoAdapterOptions extends ConnectionSettings {
  /**
   * - `preImages` (default): the server's pre- and post-images (`fullDocumentBeforeChange` and
   *   `fullDocument: 'required'`; MongoDB 6.0+ with `changeStreamPreAndPostImages` on each captured
   *   collection). A missing image fails the source, never a silent gap.
   * - `normalize`: no images needed from the server; the adapter keeps the last image of every
   *   captured document in a disk-backed store (`normalizeStore.directory`) and applies each update
   *   description to it.
   * - `upsert`: after-images only (`fullDocument: 'required'`), key-only before-images, no state.
   */
  readonly changelog?: ChangelogMode;
  /** `auto` (default): typed columns for collections whose `$jsonSchema` validator lists every field, else `{_id, document}`; `document`: always `{_id, document}`. */
  readonly rows?: 'auto' | 'document';
  /** Databases whose collections `listTables` reports (default: every database but admin, local, config and the heartbeat's). */
  readonly databases?: readonly string[];
  /** Where `highWatermark()` writes its marker (default `highwater.heartbeat`): needs `insert`/`update` there. */
  readonly heartbeat?: { readonly database: string; readonly collection: string };
  /** Documents per batch of a chunk read (default 4096). */
  readonly chunkBatchSize?: number;
  /** How long a change stream `getMore` waits for events before reporting progress (default 250 ms). */
  readonly maxAwaitTimeMs?: number;
  /**
   * Where changelog `normalize` keeps its last-image stores: one SQLite file per set of captured
   * collections in this directory (created when missing).
   */
  readonly normalizeStore?: { readonly directory: string };
  /**
   * Read events over 16 MB (an update of a large document with both images, say) through
   * `$changeStreamSplitLargeEvent` and join their fragments (default true; needs MongoDB 7.0, or
   * 6.0.9+). Set false for older servers, where such an event fails the stream instead.
   */
  readonly splitLargeEvents?: boolean;
  /**
   * How snapshot chunk boundaries are found: `auto` (default) asks the server for its split points
   * (`splitVector`, one index walk per collection) and pages through sorted `_id`s where the server
   * refuses it (no `splitVector` privilege); `paging` never tries the privileged command.
   */
  readonly chunkBoundaries?: 'auto' | 'paging';
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  readonly connection: ConnectionSettings;
  readonly changelog: ChangelogMode;
  readonly rows: 'auto' | 'document';
  readonly databases: readonly string[] | null;
  readonly heartbeat: { readonly database: string; readonly collection: string };
  readonly chunkBatchSize: number;
  readonly maxAwaitTimeMs: number;
  readonly normalizeStore: { readonly directory: string } | null;
  readonly splitLargeEvents: boolean;
  readonly chunkBoundaries: 'auto' | 'paging';
}
