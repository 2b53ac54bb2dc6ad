import { PlainChangeEvent } from '../events/change-event.js';
import type { ChangeEvent, SourceInfo } from '../events/source-event.js';
import { isUndecoded, type UnfinishedSplit } from '../enumerator/table-snapshot.js';
import type { OffsetCodec } from '../offset/offset-codec.js';
import { diffTableSchemas } from '../schema/ddl-changes.js';
import { chunkKeyOf, eventKeyRowOf } from '../schema/table-schema.js';
import type { ChunkChange, ChunkKeySpace } from '../snapshot/chunk-merge.js';
import { addRows, applyChange, type ChunkBuffer, completeImage, unknownColumnsOf } from '../snapshot/chunk-merge.js';
import { keyIdentity } from '../snapshot/key-identity.js';
import type { CapturedTable } from '../source/captured-table.js';
import type { OutputQueue } from '../source/output-queue.js';
import type { LogItem, RowChange } from '../spi/log-item.js';
import type { Key, Row } from '../values/value.js';

/**
 * Deliberately wrong variants of the algorithm, used only by tests that prove the suite notices
 * (see `@highwater/core/testing`). Never set in production.
 */
export interface AlgorithmVariant {
  /** Treat a change at exactly a chunk's high watermark as after it: merged no more, emitted too. */
  readonly releaseHighWatermarkEqualAsAfter?: boolean;
}

export interface RouterSettings<O> {
  readonly connector: string;
  readonly offsets: OffsetCodec<O>;
  readonly output: OutputQueue;
  /** `snapshot` startup mode: only snapshot reads are emitted. */
  readonly snapshotOnly: boolean;
  /** Changes at or before this offset were emitted before a restart: they only backfill chunks now. */
  readonly emittedThrough: O | null;
  readonly variant: AlgorithmVariant;
  /** Called when the log says a captured table was dropped (or renamed: its new name); the router has stopped capturing it. */
  readonly onTableDropped: (table: CapturedTable<O>, renamedTo: string | null) => void;
}

/**
 * Routes every log item in log order (DESIGN.md, "One log reader"): a change on a key whose chunk
 * is finished is emitted; one on a key whose chunk is open or not read yet is retained for that
 * chunk's backfill. When the log reader passes a chunk's high watermark, {@link releaseChunk}
 * merges the retained changes into the chunk's rows and emits them; the retained changes after
 * the high watermark follow. That is the high-watermark gate: a change is emitted exactly when its
 * offset is above the high watermark of the chunk its key belongs to.
 */
export class ChangeRouter<O> {
  readonly tables = new Map<string, CapturedTable<O>>();
  private replayThrough: O | null;
  private readonly compare: (a: O, b: O) => number;

  constructor(private readonly settings: RouterSettings<O>) {
    this.replayThrough = settings.emittedThrough;
    this.compare = settings.offsets.compare;
  }

  /** Changes at or before this offset were emitted before a restart (null on a first start). */
  get emittedThrough(): O | null {
    return this.settings.emittedThrough;
  }

  /** True while the log is re-read below what was emitted before a restart. */
  private replaying(offset: O): boolean {
    if (this.replayThrough === null) return false;
    if (this.compare(offset, this.replayThrough) <= 0) return true;
    this.replayThrough = null;
    return false;
  }

  route(item: LogItem<O>): void {
    if (item.kind === 'progress') return;
    const table = this.tables.get(item.table);
    if (table === undefined) return;
    const replay = this.replaying(item.offset);
    const emit = !replay && !this.settings.snapshotOnly;
    switch (item.kind) {
      case 'change':
        if (table.snapshot === null) {
          if (emit) this.emitChange(table, item, item.op, item.before, item.after);
        } else {
          this.routeDuringSnapshot(table, item, emit);
        }
        return;
      case 'truncate':
        table.retained?.push(item);
        if (emit)
          this.settings.output.emit({ kind: 'truncate', table: table.name, source: this.sourceInfo(table, item) });
        return;
      case 'schema': {
        const before = table.schema;
        if (item.schema !== null) {
          table.schema = { ...item.schema, chunkKey: table.schema.chunkKey };
          table.columnNames = item.schema.columns.map((c) => c.name);
          if (table.snapshot !== null) table.snapshot.schema = table.schema;
        }
        if (!replay) {
          this.settings.output.emit({
            kind: 'schema',
            table: table.name,
            schema: item.schema,
            before,
            changes: diffTableSchemas(before, item.schema === null ? null : table.schema, item),
            ddl: item.ddl,
            source: this.sourceInfo(table, item),
          });
        }
        if (item.schema === null) {
          this.tables.delete(table.name);
          this.settings.onTableDropped(table, item.renamedTo ?? null);
        }
        return;
      }
    }
  }

  /**
   * A change on a table still being snapshotted: each side of it (old key, new key) is emitted
   * only if its chunk is finished; otherwise the change is kept for the chunk's backfill. An
   * update whose two keys fall on either side of that line is emitted as a delete plus an insert,
   * as Debezium does for key changes.
   */
  private routeDuringSnapshot(table: CapturedTable<O>, change: RowChange<O>, emit: boolean): void {
    const snapshot = table.snapshot!;
    const schema = table.schema;
    const oldKey = change.op === 'c' ? null : chunkKeyOf(schema, (change.before ?? change.after) as Row);
    const newKey = change.after === null ? null : chunkKeyOf(schema, change.after);
    const oldDone = oldKey === null || snapshot.isFinished(oldKey);
    const newDone =
      newKey === null || (oldKey !== null && sameKey(oldKey, newKey) ? oldDone : snapshot.isFinished(newKey));
    if (oldDone && newDone) {
      if (emit) this.emitChange(table, change, change.op, change.before, change.after);
      return;
    }
    table.retained!.push(change, oldKey, newKey);
    if (!emit) return;
    if (oldKey !== null && oldDone) this.emitChange(table, change, 'd', change.before, null);
    if (newKey !== null && newDone) this.emitChange(table, change, 'c', null, change.after);
  }

  /**
   * Emits a chunk whose high watermark the log reader has passed: the rows it read, with every
   * retained change in `(low watermark, high watermark]` applied, as `r` events; then the retained
   * changes after the high watermark that touch the chunk, which were held back while it was open.
   * Returns the number of rows emitted.
   */
  releaseChunk(table: CapturedTable<O>, entry: UnfinishedSplit<O>): number {
    const window = entry.window!;
    const snapshot = table.snapshot!;
    const hw = window.highWatermark as O;
    const range = entry.split.range;
    const schema = table.schema;
    const space: ChunkKeySpace = {
      keyOf: (row) => chunkKeyOf(schema, row),
      inChunk: (key) => snapshot.inRange(range, key),
    };
    const batches = window.rows ?? [];
    const merged: ChunkChange<O>[] = [];
    const held: ChunkChange<O>[] = [];
    const exclusive = this.settings.variant.releaseHighWatermarkEqualAsAfter === true;
    table.retained!.forEachAfter(window.lowWatermark, (change, oldKey, newKey) => {
      const c = this.compare(change.offset, hw);
      if (c > 0 || (c === 0 && exclusive)) held.push(change);
      else if (
        change.kind === 'truncate' ||
        (oldKey !== null && space.inChunk(oldKey)) ||
        (newKey !== null && space.inChunk(newKey))
      ) {
        merged.push(change);
      }
    });
    // A truncate after the high watermark was emitted when the log reader routed it (before a
    // restart, if replayed), which can be before this release when the log passed the high watermark
    // before the chunk registered it. Its rows, and the changes held before the truncate, would then
    // come after the truncate that removed them: they are left out, and the chunk goes on from it.
    if (!this.settings.snapshotOnly) {
      const truncatedAt = held.findLastIndex((change) => change.kind === 'truncate');
      if (truncatedAt >= 0) {
        for (const change of held.slice(truncatedAt + 1)) {
          if (change.kind === 'change' && !this.replaying(change.offset)) this.emitPartsInChunk(table, change, space);
        }
        return 0;
      }
    }
    const source: SourceInfo = {
      connector: this.settings.connector,
      table: table.name,
      tableId: schema.id,
      opTs: window.readAt,
      offset: this.settings.offsets.toJSON(hw),
      txId: null,
      snapshot: true,
    };
    const { output } = this.settings;
    const columns = table.columnNames;
    // Rows read with the current definition have every column (see ChunkReader.readChunk); only
    // rows an update filled in from a partial image, or read before a schema change, can lack one.
    const complete = window.readWith === schema;
    const rowEvent = (row: Row, partial: boolean): ChangeEvent =>
      new PlainChangeEvent(
        'r',
        eventKeyRowOf(schema, row),
        null,
        row,
        'none',
        partial ? unknownColumnsOf(row, columns) : NONE,
        source,
      );
    const emitRows = (rows: Iterable<Row>, partial: boolean): void => {
      for (const row of rows) output.emit(rowEvent(row, partial));
    };
    let size = 0;
    if (window.writtenElsewhere != null) {
      // Read, merged and written by another process: only the held-back changes are this source's.
      size = window.writtenElsewhere;
    } else if (merged.length === 0) {
      // Nothing logged in the window touches the chunk: the read's rows are its rows as of HW, each
      // once (a plain read returns a row once when nothing changes it), so skip keying them. Their
      // events are made when the consumer takes the batch (see DeferredEvents), from what the
      // release decided here.
      for (const batch of batches) size += isUndecoded(batch) ? batch.count : batch.length;
      output.emitDeferred((into) => {
        for (const batch of batches) {
          const rows = isUndecoded(batch) ? batch.decode() : batch;
          for (const row of rows) into.push(rowEvent(row, !complete));
        }
      });
    } else {
      const buffer: ChunkBuffer = new Map();
      for (const batch of batches) addRows(buffer, isUndecoded(batch) ? batch.decode() : batch, space);
      for (const change of merged) applyChange(buffer, change, space);
      size = buffer.size;
      emitRows(buffer.values(), true);
    }
    if (!this.settings.snapshotOnly) {
      for (const change of held) {
        if (change.kind === 'change' && !this.replaying(change.offset)) this.emitPartsInChunk(table, change, space);
      }
    }
    return size;
  }

  /** Emits the side(s) of a held-back change that lie in the chunk being released. */
  private emitPartsInChunk(table: CapturedTable<O>, change: RowChange<O>, space: ChunkKeySpace): void {
    const oldKey = change.op === 'c' ? null : space.keyOf((change.before ?? change.after) as Row);
    const newKey = change.after === null ? null : space.keyOf(change.after);
    const oldIn = oldKey !== null && space.inChunk(oldKey);
    const newIn = newKey !== null && space.inChunk(newKey);
    if ((oldKey === null || oldIn) && (newKey === null || newIn)) {
      this.emitChange(table, change, change.op, change.before, change.after);
      return;
    }
    if (oldIn) this.emitChange(table, change, 'd', change.before, null);
    if (newIn) this.emitChange(table, change, 'c', null, change.after);
  }

  private emitChange(
    table: CapturedTable<O>,
    change: RowChange<O>,
    op: 'c' | 'u' | 'd',
    before: Row | null,
    after: Row | null,
  ): void {
    let unknown: readonly string[] = NONE;
    if (after !== null && change.unchanged !== undefined && change.unchanged.length > 0) {
      after = completeImage(after, change.unchanged, change.beforeImage === 'full' ? change.before : null);
      unknown = unknownColumnsOf(after, table.columnNames);
    }
    this.settings.output.emit(
      new PlainChangeEvent(
        op,
        eventKeyRowOf(table.schema, (after ?? before) as Row),
        before,
        after,
        op === 'c' ? 'none' : change.beforeImage,
        unknown,
        this.sourceInfo(table, change),
      ),
    );
  }

  private sourceInfo(
    table: CapturedTable<O>,
    item: { offset: O; commitTime: number | null; txId?: string | null },
  ): SourceInfo {
    return {
      connector: this.settings.connector,
      table: table.name,
      tableId: table.schema.id,
      opTs: item.commitTime,
      offset: this.settings.offsets.toJSON(item.offset),
      txId: item.txId ?? null,
      snapshot: false,
    };
  }
}

const NONE: readonly string[] = Object.freeze([]);

function sameKey(a: Key, b: Key): boolean {
  return a === b || keyIdentity(a) === keyIdentity(b);
}
