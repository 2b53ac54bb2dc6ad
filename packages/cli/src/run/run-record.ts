import { type EventBatch, HighwaterError, type SourceRetry } from '@highwater/core';

/** How many incidents a run keeps (oldest dropped first). */
export const MAX_INCIDENTS = 20;

/**
 * Something that went wrong in a run: a `restart` of the whole pipeline (source and sink closed,
 * resumed from the checkpoint), a `reconnect` of one of the source's readers (the source's own
 * retry), or the `failure` that ended the run.
 */
export interface RunIncident {
  readonly kind: 'restart' | 'reconnect' | 'failure';
  /** ms since the epoch. */
  readonly at: number;
  /** The error's stable code (`HW_CONNECTION_LOST`…); null for an error without one. */
  readonly code: string | null;
  /** The error's message as thrown: redact it before showing it. */
  readonly message: string;
  /** Restarts and reconnects: the attempt in a row (1 for the first), of `attempts`, and the wait before it. */
  readonly attempt: number | null;
  readonly attempts: number | null;
  readonly delayMs: number | null;
  /** Reconnects: which reader of the source lost its connection. */
  readonly reader: 'log' | 'chunk' | null;
}

/** Change events written per table in this run, by operation (`r` snapshot reads, `c`, `u`, `d`). */
export interface TableCounts {
  readonly r: number;
  readonly c: number;
  readonly u: number;
  readonly d: number;
}

/**
 * What a run did beyond its current state, for the status page: incidents, time spent writing
 * batches, and events written per table. Filled by the runner; read by anyone.
 */
export class RunRecord {
  /** When the run was created (ms since the epoch). */
  readonly startedAt = Date.now();
  readonly #incidents: RunIncident[] = [];
  readonly #tables = new Map<string, { r: number; c: number; u: number; d: number }>();
  #writeMs = 0;
  #lastWrittenAt: number | null = null;

  /** Oldest first, at most {@link MAX_INCIDENTS}. */
  incidents(): readonly RunIncident[] {
    return this.#incidents;
  }

  /** Per table, in the order tables were first written. */
  tables(): ReadonlyMap<string, TableCounts> {
    return this.#tables;
  }

  /** Total ms spent in `sink.write` and storing checkpoints. */
  get writeMs(): number {
    return this.#writeMs;
  }

  /** When the last batch was written (ms since the epoch), null before the first. */
  get lastWrittenAt(): number | null {
    return this.#lastWrittenAt;
  }

  batchWritten(batch: EventBatch, ms: number): void {
    this.#writeMs += ms;
    this.#lastWrittenAt = Date.now();
    for (const event of batch.events) {
      if (event.kind !== 'change') continue;
      let counts = this.#tables.get(event.source.table);
      if (counts === undefined) {
        counts = { r: 0, c: 0, u: 0, d: 0 };
        this.#tables.set(event.source.table, counts);
      }
      counts[event.op]++;
    }
  }

  restart(error: unknown, attempt: number, attempts: number, delayMs: number): void {
    this.#add({ kind: 'restart', ...describe(error), attempt, attempts, delayMs, reader: null });
  }

  reconnect(retry: SourceRetry): void {
    const { error, attempt, attempts, delayMs, reader } = retry;
    this.#add({ kind: 'reconnect', ...describe(error), attempt, attempts, delayMs, reader });
  }

  failure(error: unknown): void {
    this.#add({ kind: 'failure', ...describe(error), attempt: null, attempts: null, delayMs: null, reader: null });
  }

  #add(incident: Omit<RunIncident, 'at'>): void {
    this.#incidents.push({ at: Date.now(), ...incident });
    if (this.#incidents.length > MAX_INCIDENTS) this.#incidents.shift();
  }
}

function describe(error: unknown): { code: string | null; message: string } {
  return {
    code: error instanceof HighwaterError ? error.code : null,
    message: error instanceof Error ? error.message : String(error),
  };
}
