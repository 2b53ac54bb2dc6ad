import type { JsonValue } from '../values/value.js';

/** Snapshot progress of one table. */
export interface TableSnapshotProgress {
  /** Qualified table name. */
  readonly table: string;
  /** True once every chunk of the table is read (in this run; tables finished before a restart are not listed). */
  readonly done: boolean;
  readonly splitsDone: number;
  /** Finished plus known-unfinished plus the splitter's estimate of what remains. */
  readonly splitsTotal: number;
  readonly rowsRead: number;
}

/** Snapshot progress, summed over the tables being snapshotted or already snapshotted. */
export interface SnapshotProgress {
  readonly tablesTotal: number;
  readonly tablesDone: number;
  readonly splitsDone: number;
  /** Finished plus known-unfinished plus the splitters' estimate of what remains. */
  readonly splitsTotal: number;
  readonly rowsRead: number;
  readonly rowsPerSecond: number;
  /** The same per table, in the order snapshots finished, then the tables still being read. */
  readonly tables: readonly TableSnapshotProgress[];
}

/**
 * A point-in-time view of a running source. Names follow Flink CDC's source metrics where they
 * exist, so dashboards carry over.
 */
export interface SourceMetrics {
  readonly state: 'created' | 'starting' | 'snapshot' | 'stream' | 'done' | 'closed' | 'failed';
  readonly snapshot: SnapshotProgress;
  /** ms between the commit of the last change read from the log and the moment it was read. */
  readonly currentFetchEventTimeLag: number | null;
  /** ms between the commit of the last change handed to the application and the moment it was handed over. */
  readonly currentEmitEventTimeLag: number | null;
  /** ms since the log last delivered a change of a captured table. */
  readonly sourceIdleTime: number;
  readonly eventsEmitted: number;
  readonly eventsPerSecond: number;
  /** The log position processed so far (serialised offset). */
  readonly position: JsonValue | null;
  /**
   * Figures the adapter's log reader reports (`LogReader.metrics`), e.g. Postgres
   * `slotLagBytes`. Empty while no log reader is open.
   */
  readonly log: Readonly<Record<string, number>>;
}
