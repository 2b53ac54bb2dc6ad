import type { RunnerState } from '../../run/pipeline-runner.js';

/**
 * The JSON of `GET /api/status` (and of each Server-Sent Event of `GET /api/events`), documented
 * in docs/operations.md. Stable: fields are only added within a version; a removed or changed
 * field raises {@link STATUS_VERSION}.
 */
export const STATUS_VERSION = 1;

/** The pipeline's state as the page shows it: the runner's. */
export type PipelineState = RunnerState;

export interface StatusDocument {
  readonly version: typeof STATUS_VERSION;
  /** ISO time this document was made. */
  readonly generatedAt: string;
  readonly pipeline: string;
  readonly state: PipelineState;
  /** ISO time the run started; seconds since. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** The source and the sink in words, without secrets. */
  readonly source: { readonly adapter: string; readonly description: string };
  readonly sink: { readonly type: string; readonly description: string };
  readonly checkpoint: CheckpointStatus;
  readonly ready: Readiness;
  readonly snapshot: SnapshotStatus;
  readonly stream: StreamStatus;
  /** Restarts of the whole pipeline and reconnects inside the source in this run. */
  readonly restarts: number;
  readonly reconnects: number;
  /** The last incidents (restarts, reconnects, the final failure), oldest first, at most 20. */
  readonly incidents: readonly IncidentStatus[];
  readonly samples: SampleSeries;
  /** Only for a pipeline run by several processes (`cluster:`): who leads and what every member reads. */
  readonly cluster?: ClusterSection;
}

/** The members of a clustered pipeline as this member last read them from NATS. */
export interface ClusterSection {
  /** This process's member id (`<host>-<pid>`). */
  readonly member: string;
  /** `leader` while this process holds the lease (it runs the pipeline), else `member`. */
  readonly role: 'leader' | 'member';
  /** The member holding the lease; null while nobody does. */
  readonly leader: string | null;
  /** ISO time of the last read from NATS; null before the first succeeded. */
  readonly readAt: string | null;
  /** Why the last read failed; null when it succeeded. */
  readonly error: string | null;
  /** Every live member, by id. */
  readonly members: readonly ClusterMemberStatus[];
}

export interface ClusterMemberStatus {
  readonly member: string;
  readonly host: string;
  readonly pid: number;
  readonly role: 'leader' | 'member';
  /** Ids of the chunks its readers are reading now (`schema.table:7`). */
  readonly reading: readonly string[];
  /** As leader: chunks handed out and not done yet. */
  readonly handedOut: number;
  /** Chunks it wrote since it started. */
  readonly chunksWritten: number;
  /** ISO times: when it joined, and its last report. */
  readonly since: string;
  readonly seenAt: string;
}

export interface CheckpointStatus {
  /** `fresh` (nothing stored yet), `snapshot`, `stream` or `complete`: as `highwater status` says. */
  readonly phase: 'fresh' | 'snapshot' | 'stream' | 'complete';
  /** ISO time the last checkpoint was stored by this run; null before its first batch. */
  readonly storedAt: string | null;
  /** `highwater status`'s report of the checkpoint, one fact per line. */
  readonly text: string;
}

/** What `GET /ready` answers: 200 when `ready`, else 503 with `reason`. */
export interface Readiness {
  readonly ready: boolean;
  /** Why not ready; null when ready. */
  readonly reason: string | null;
  /** The configured limit on the emit lag (`metrics.readyLagSeconds`). */
  readonly maxLagSeconds: number;
}

export interface SnapshotStatus {
  readonly tablesDone: number;
  readonly tablesTotal: number;
  readonly chunksDone: number;
  readonly chunksTotal: number;
  readonly rowsRead: number;
  readonly rowsPerSecond: number;
  readonly tables: readonly TableSnapshotStatus[];
}

export interface TableSnapshotStatus {
  readonly table: string;
  readonly done: boolean;
  readonly chunksDone: number;
  /** An estimate until the table's last chunk is produced. */
  readonly chunksTotal: number;
  readonly rowsRead: number;
  /** Rows read ÷ chunks done × chunks total; null before the first chunk. */
  readonly rowsTotalEstimate: number | null;
  readonly rowsPerSecond: number;
  /** Seconds left at the current rate; null when unknown, 0 when done. */
  readonly etaSeconds: number | null;
}

export interface StreamStatus {
  readonly eventsEmitted: number;
  readonly eventsWritten: number;
  readonly batchesWritten: number;
  readonly eventsPerSecond: number;
  /** Seconds; null before the first change. */
  readonly emitLagSeconds: number | null;
  readonly fetchLagSeconds: number | null;
  readonly idleSeconds: number | null;
  /**
   * The adapter's log reader figures (Postgres `slotLagBytes`…); log positions (`…Lsn`) as the
   * database prints them (`0/16B3748`), the others as numbers.
   */
  readonly log: Readonly<Record<string, number | string>>;
  /** Change events written per table in this run (snapshot reads, inserts, updates, deletes). */
  readonly tables: readonly { table: string; reads: number; inserts: number; updates: number; deletes: number }[];
}

export interface IncidentStatus {
  readonly kind: 'restart' | 'reconnect' | 'failure';
  /** ISO time. */
  readonly at: string;
  readonly code: string | null;
  /** Redacted of the pipeline's secrets. */
  readonly message: string;
  /** What to do about this code (docs/errors.md); null for an error without a code. */
  readonly hint: string | null;
  readonly attempt: number | null;
  readonly attempts: number | null;
  readonly delayMs: number | null;
  readonly reader: 'log' | 'chunk' | null;
}

/** Samples taken every `intervalSeconds`, the newest last; `seq` grows by one per sample. */
export interface SampleSeries {
  readonly intervalSeconds: number;
  readonly points: readonly SamplePoint[];
}

export interface SamplePoint {
  readonly seq: number;
  /** ms since the epoch. */
  readonly t: number;
  readonly eventsPerSecond: number;
  /** Percentiles of the emit / fetch lag readings of the last 10 s, in seconds; null without a reading. */
  readonly emitLagP50: number | null;
  readonly emitLagP99: number | null;
  readonly fetchLagP50: number | null;
  readonly fetchLagP99: number | null;
  /** Bytes of log the source holds back (Postgres slot lag); null when the adapter reports none. */
  readonly logLagBytes: number | null;
  /** Mean ms to write a batch and store its checkpoint during the interval; null when none was written. */
  readonly batchWriteMs: number | null;
}
