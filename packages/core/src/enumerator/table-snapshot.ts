import type { SplitterState, StoredSplit, TableCheckpoint } from '../checkpoint/checkpoint.js';
import type { TableSplitter } from '../chunking/table-splitter.js';
import type { TableSchema } from '../schema/table-schema.js';
import type { UndecodedRows } from '../spi/source-adapter.js';
import type { ChunkRange, SnapshotSplit } from '../split/split.js';
import { snapshotSplitId } from '../split/split.js';
import type { Key, Row } from '../values/value.js';
import { valueFromJson, valueToJson } from '../values/value-json.js';

/** A chunk's rows as read: batches of rows, or of rows still to be decoded when the chunk is emitted. */
export type ChunkRows = readonly (readonly Row[] | UndecodedRows)[];

/** True for a batch still to be decoded. */
export function isUndecoded(batch: readonly Row[] | UndecodedRows): batch is UndecodedRows {
  return !Array.isArray(batch);
}

/** A chunk being read: open from its low watermark until the log reader passes its high watermark. */
export interface ChunkWindow<O> {
  readonly lowWatermark: O;
  highWatermark: O | null;
  /** What the read returned, in batches: rows, or rows still to be decoded. */
  rows: ChunkRows | null;
  /** The definition the chunk was read with: every row read has each of its columns. */
  readWith: TableSchema | null;
  /** When the read finished (ms), reported as the reads' `opTs`. */
  readAt: number;
  /** Rows another process read and wrote to the sink (`remoteChunks`): none are emitted here. Null for a chunk read here. */
  writtenElsewhere?: number | null;
  /** Settles when the chunk's rows have been emitted (or the source stopped). */
  readonly released: Promise<void>;
  release(): void;
  abandon(error: unknown): void;
}

/** A split handed out by the splitter and not yet finished. */
export interface UnfinishedSplit<O> {
  readonly split: SnapshotSplit;
  window: ChunkWindow<O> | null;
}

/**
 * One table's snapshot: which splits exist, which are unfinished, and so which keys are finished.
 * A key is finished when it lies before the splitter's frontier and in no unfinished split; only
 * unfinished splits are stored, so a million-chunk table costs as much as a one-chunk one.
 */
export class TableSnapshot<O> {
  readonly unfinished: UnfinishedSplit<O>[] = [];
  splitsDone: number;
  rowsRead: number;
  /** Start of the part of the key space no split covers yet; meaningful when `started && !exhausted`. */
  private frontier: Key | null = null;
  private started: boolean;
  exhausted: boolean;
  /**
   * The splitter's state as of the last registered split. The splitter's own state moves as soon as
   * it has computed a split, before the split is registered here; a checkpoint taken in between
   * must not count that split as produced, or it would be lost on restart.
   */
  private splitterState: SplitterState;

  constructor(
    readonly name: string,
    public schema: TableSchema,
    readonly splitter: TableSplitter,
    private readonly compareKeys: (a: Key, b: Key) => number,
    resumed?: Extract<TableCheckpoint, { phase: 'snapshot' }>,
  ) {
    const state = splitter.state();
    this.splitterState = state;
    this.started = state.nextIndex > 0;
    this.exhausted = state.done;
    this.frontier = state.nextStart === null ? null : (valueFromJson(state.nextStart) as Key);
    this.splitsDone = resumed?.splitsDone ?? 0;
    this.rowsRead = resumed?.rowsRead ?? 0;
    for (const s of resumed?.unfinished ?? []) {
      this.unfinished.push({ split: storedToSplit(name, s), window: null });
    }
  }

  /** True when every split is finished. */
  get done(): boolean {
    return this.exhausted && this.unfinished.length === 0;
  }

  /** Records a split the splitter just produced; everything before its end is now covered by a split. */
  register(split: SnapshotSplit): UnfinishedSplit<O> {
    const entry: UnfinishedSplit<O> = { split, window: null };
    this.unfinished.push(entry);
    this.splitterState = this.splitter.state();
    this.started = true;
    if (split.range.end === null) this.exhausted = true;
    else this.frontier = split.range.end;
    return entry;
  }

  markExhausted(): void {
    this.exhausted = true;
    this.splitterState = this.splitter.state();
  }

  finish(entry: UnfinishedSplit<O>, rows: number): void {
    const i = this.unfinished.indexOf(entry);
    if (i >= 0) this.unfinished.splice(i, 1);
    this.splitsDone++;
    this.rowsRead += rows;
  }

  /** Whether a change on this key can be emitted as it is (its chunk has been read and released). */
  isFinished(key: Key): boolean {
    if (!this.exhausted && (!this.started || this.compareKeys(key, this.frontier as Key) >= 0)) return false;
    for (const u of this.unfinished) if (this.inRange(u.split.range, key)) return false;
    return true;
  }

  inRange(range: ChunkRange, key: Key): boolean {
    return (
      (range.start === null || this.compareKeys(key, range.start) >= 0) &&
      (range.end === null || this.compareKeys(key, range.end) < 0)
    );
  }

  toCheckpoint(): TableCheckpoint {
    return {
      phase: 'snapshot',
      splitter: this.splitterState,
      unfinished: this.unfinished.map((u) => splitToStored(u.split)),
      splitsDone: this.splitsDone,
      rowsRead: this.rowsRead,
    };
  }
}

function splitToStored(split: SnapshotSplit): StoredSplit {
  return {
    index: split.index,
    start: split.range.start === null ? null : valueToJson(split.range.start),
    end: split.range.end === null ? null : valueToJson(split.range.end),
  };
}

function storedToSplit(table: string, s: StoredSplit): SnapshotSplit {
  return {
    kind: 'snapshot',
    id: snapshotSplitId(table, s.index),
    table,
    index: s.index,
    range: {
      start: s.start === null ? null : (valueFromJson(s.start) as Key),
      end: s.end === null ? null : (valueFromJson(s.end) as Key),
    },
  };
}
