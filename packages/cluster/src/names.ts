/**
 * The JetStream streams, subjects and KV buckets one pipeline's cluster uses. Every name is derived
 * from the pipeline name, so several pipelines share a NATS server without meeting.
 */
export interface ClusterNames {
  /** Stream the leader publishes the captured log to while tables are snapshotted. */
  readonly logStream: string;
  readonly logSubject: string;
  /** Work-queue stream of chunks to read; one subject per chunk. */
  readonly chunkStream: string;
  readonly chunkSubjects: string;
  /** The durable consumer every member pulls chunks from. */
  readonly chunkConsumer: string;
  /** Checkpoint and chunk records. */
  readonly stateBucket: string;
  /** The leader lease (entries expire when not renewed). */
  readonly leaseBucket: string;
  /** One entry per live member (entries expire when not renewed). */
  readonly membersBucket: string;
  chunkSubject(splitId: string): string;
}

/** KV key of the pipeline's checkpoint in the state bucket. */
export const CHECKPOINT_KEY = 'checkpoint';
/** KV key of the leader lease in the lease bucket. */
export const LEASE_KEY = 'leader';

/** Names for pipeline `pipeline` (letters, digits, `_`, `.`, `-`) under subject prefix `prefix`. */
export function clusterNames(pipeline: string, prefix = 'highwater'): ClusterNames {
  // Stream and bucket names allow neither '.' nor '>': encode '.' so 'a.b' and 'a_b' stay apart.
  const id = pipeline.replace(/_/g, '__').replace(/\./g, '_d');
  const base = `${prefix}.${id}`;
  return {
    logStream: `HW_${id}_LOG`,
    logSubject: `${base}.log`,
    chunkStream: `HW_${id}_CHUNKS`,
    chunkSubjects: `${base}.chunk.>`,
    chunkConsumer: 'members',
    stateBucket: `hw_${id}_state`,
    leaseBucket: `hw_${id}_lease`,
    membersBucket: `hw_${id}_members`,
    chunkSubject: (splitId) => `${base}.chunk.${encodeToken(splitId)}`,
  };
}

/** KV key of a chunk's record. */
export function chunkRecordKey(splitId: string): string {
  return `chunk.${encodeToken(splitId)}`;
}

/**
 * KV key of a table's barriers (`BarrierRecord`): its truncates and schema changes the leader has
 * published to the log stream and not yet seen stored.
 */
export function barrierRecordKey(table: string): string {
  return `barrier.${encodeToken(table)}`;
}

/** A split id (`schema.table:7`) as one subject token / KV key part: base64url has no '.', '*', '>' or spaces. */
function encodeToken(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
