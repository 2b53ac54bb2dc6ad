import { stat } from 'node:fs/promises';
import type { ClusterStatus } from '@highwater/cluster';
import { dirname, resolve } from 'node:path';
import { type Checkpoint, FileCheckpointStore } from '@highwater/core';
import type { SlotReport } from '@highwater/postgres';
import { natsSinkLocation } from '@highwater/sink-nats/location';
import { CHECKPOINT_TABLE } from '@highwater/sink-sql';
import { type LoadedPipeline, loadPipeline } from '../pipeline/load-pipeline.js';
import { ago } from '../observe/ago.js';
import { redact } from '../pipeline/redact.js';
import { fileSinkCheckpointPath, readFileSinkState } from '@highwater/sink-file';
import { describeSlot, listPipelineSlots, replicationOf } from '../slots/pipeline-slots.js';
import { EXIT_OK, exitCodeOf } from './run.js';

/** A pipeline's stored checkpoint and where it was found. */
export interface StoredCheckpoint {
  /** Where it lives: a file path, or a description of the target table. */
  readonly location: string;
  /** `null`: nothing stored yet (the next run starts fresh). */
  readonly checkpoint: Checkpoint | null;
  /** When it was stored, when known. */
  readonly storedAt: Date | null;
  /** A `cluster` pipeline: its leader and members, read from NATS. */
  readonly cluster?: ClusterStatus;
}

/**
 * Reads the checkpoint a pipeline would resume from, without connecting to the source: from the
 * file sink's checkpoint file, the SQL target's checkpoint table, or the pipeline's checkpoint file.
 */
export async function readStoredCheckpoint(pipeline: LoadedPipeline): Promise<StoredCheckpoint> {
  const sink = pipeline.config.sink;
  const cluster = pipeline.config.cluster;
  const location = checkpointLocation(pipeline);
  if (cluster !== undefined) {
    // Imported here, like each sink's reader below: `highwater run` loads this module for its status
    // page, and needs none of them.
    const { readClusterStatus } = await import('@highwater/cluster');
    const status = await readClusterStatus(cluster.nats, pipeline.name);
    return { location, checkpoint: status.checkpoint, storedAt: status.checkpointSavedAt, cluster: status };
  }
  switch (sink.type) {
    case 'file': {
      const state = await readFileSinkState(resolve(dirname(pipeline.file), sink.path));
      return { location, checkpoint: state?.checkpoint ?? null, storedAt: state?.storedAt ?? null };
    }
    case 'postgres':
    case 'mysql': {
      const { readSqlSinkCheckpoint } = await import('../sinks/sql/index.js');
      const stored = await readSqlSinkCheckpoint(sink, pipeline.name);
      return { location, checkpoint: stored?.checkpoint ?? null, storedAt: stored?.storedAt ?? null };
    }
    case 'nats': {
      const { readNatsSinkCommit } = await import('@highwater/sink-nats');
      const marker = await readNatsSinkCommit({ ...sink, pipeline: pipeline.name });
      const storedAt = marker === null || marker.commit === 0 ? null : new Date(marker.committedAt);
      return { location, checkpoint: marker?.checkpoint ?? null, storedAt };
    }
    case 'stdout': {
      const store = new FileCheckpointStore(pipeline.checkpointPath);
      const checkpoint = await store.load();
      const storedAt = checkpoint === null ? null : (await stat(store.path)).mtime;
      return { location, checkpoint, storedAt };
    }
  }
}

/** Where the pipeline's checkpoint is stored, in words: a file path, or the target's table and row. */
export function checkpointLocation(pipeline: LoadedPipeline): string {
  const sink = pipeline.config.sink;
  if (pipeline.config.cluster !== undefined)
    return `NATS KV bucket of cluster pipeline ${pipeline.name}, key checkpoint`;
  switch (sink.type) {
    case 'file':
      return fileSinkCheckpointPath(resolve(dirname(pipeline.file), sink.path));
    case 'postgres':
    case 'mysql':
      return `${sink.type} target, table ${sink.schema === undefined ? '' : `${sink.schema}.`}${CHECKPOINT_TABLE}, row '${pipeline.name}'`;
    case 'nats': {
      const where = natsSinkLocation({ ...sink, pipeline: pipeline.name });
      return `nats stream ${where.stream}, last message on ${where.commitSubject}`;
    }
    case 'stdout':
      return pipeline.checkpointPath;
  }
}

/** `highwater status pipeline.yaml`: prints the stored checkpoint in words (or JSON). Returns the exit code. */
export async function statusCommand(
  file: string,
  options: { json?: boolean } = {},
  io: { env?: NodeJS.ProcessEnv; stdout?: (text: string) => void; stderr?: (text: string) => void; now?: Date } = {},
): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  let pipeline: LoadedPipeline | null = null;
  try {
    pipeline = await loadPipeline(file, io.env ?? process.env);
    const stored = await readStoredCheckpoint(pipeline);
    const now = io.now ?? new Date();
    const slots = await readSlots(pipeline);
    if (options.json === true) {
      out(`${JSON.stringify({ ...statusJson(pipeline, stored, now), replication: slots }, null, 2)}\n`);
    } else {
      const text =
        describeStatus(pipeline, stored, now) +
        describeCluster(stored.cluster, now) +
        describeSlots(slots, stored, now);
      out(redact(text, pipeline.secrets));
    }
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`highwater status: ${pipeline === null ? message : redact(message, pipeline.secrets)}\n`);
    return exitCodeOf(error);
  }
}

function statusJson(pipeline: LoadedPipeline, stored: StoredCheckpoint, now: Date) {
  return {
    pipeline: pipeline.name,
    source: pipeline.config.source.adapter,
    sink: pipeline.config.sink.type,
    location: stored.location,
    storedAt: stored.storedAt?.toISOString() ?? null,
    storedSecondsAgo: stored.storedAt === null ? null : Math.round((now.getTime() - stored.storedAt.getTime()) / 1000),
    phase: phaseOf(stored.checkpoint),
    checkpoint: stored.checkpoint,
    ...(stored.cluster === undefined
      ? {}
      : { cluster: { leader: stored.cluster.leader, members: stored.cluster.members } }),
  };
}

/** `fresh` (nothing stored), `snapshot` (a table still has chunks to read), `stream`, or `complete`. */
export function phaseOf(checkpoint: Checkpoint | null): 'fresh' | 'snapshot' | 'stream' | 'complete' {
  if (checkpoint === null) return 'fresh';
  if (checkpoint.complete) return 'complete';
  return Object.values(checkpoint.tables).some((t) => t.phase === 'snapshot') ? 'snapshot' : 'stream';
}

/** The status report as text, one fact per line. */
export function describeStatus(pipeline: LoadedPipeline, stored: StoredCheckpoint, now: Date): string {
  const { config } = pipeline;
  const lines = [`pipeline ${pipeline.name}: ${config.source.adapter} → ${config.sink.type}`];
  const age =
    stored.storedAt === null ? '' : ` (stored ${ago(Math.max(0, now.getTime() - stored.storedAt.getTime()))})`;
  lines.push(`checkpoint: ${stored.location}${stored.checkpoint === null ? '' : age}`);
  const cp = stored.checkpoint;
  if (cp === null) {
    const startup =
      typeof config.source.startup === 'string' ? config.source.startup : JSON.stringify(config.source.startup);
    lines.push(`no checkpoint stored yet: the next run starts fresh (startup: ${startup})`);
    return `${lines.join('\n')}\n`;
  }
  const tables = Object.entries(cp.tables).sort(([a], [b]) => a.localeCompare(b));
  const snapshotting = tables.filter(([, t]) => t.phase === 'snapshot');
  const phase = phaseOf(cp);
  lines.push(
    phase === 'complete'
      ? 'phase: complete — the snapshot is read and the pipeline (startup: snapshot) has nothing left to do'
      : phase === 'snapshot'
        ? `phase: snapshot — ${tables.length - snapshotting.length} of ${tables.length} tables snapshotted, changes streamed alongside`
        : `phase: stream — all ${tables.length} tables snapshotted, following the log`,
  );
  lines.push(`stream position: ${cp.position === null ? 'none yet' : JSON.stringify(cp.position)}`);
  lines.push(`connector: ${cp.connector}`);
  if (tables.length > 0) {
    lines.push('tables:');
    const width = Math.max(...tables.map(([name]) => name.length));
    for (const [name, t] of tables) {
      if (t.phase === 'stream') {
        lines.push(`  ${name.padEnd(width)}  stream`);
        continue;
      }
      const unfinished =
        t.unfinished.length === 0
          ? 'no unfinished chunks'
          : `${t.unfinished.length} unfinished chunk${t.unfinished.length === 1 ? '' : 's'} (#${t.unfinished.map((u) => u.index).join(', #')}, re-read on restart)`;
      const more = t.splitter.done ? 'all chunks produced' : 'more chunks to produce';
      lines.push(
        `  ${name.padEnd(width)}  snapshot: ${t.splitsDone.toLocaleString('en-US')} chunks done, ` +
          `${t.rowsRead.toLocaleString('en-US')} rows read, ${unfinished}, ${more}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The replication slots `status` reports: the pipeline's own and Highwater's others on the server. */
export interface StatusSlots {
  readonly ownSlot: string;
  /** Null when they could not be read (`error` says why). */
  readonly slots: readonly SlotReport[] | null;
  readonly error?: string;
}

/** Reads the slots of a Postgres source; null for a source that keeps none. Never fails: `status` works without the source. */
async function readSlots(pipeline: LoadedPipeline): Promise<StatusSlots | null> {
  const replication = replicationOf(pipeline);
  if (replication === null) return null;
  try {
    return { ownSlot: replication.slotName, slots: await listPipelineSlots(replication) };
  } catch (error) {
    return {
      ownSlot: replication.slotName,
      slots: null,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The slot lines of the status report: the pipeline's slot, then other slots of Highwater's that retain WAL. */
export function describeSlots(slots: StatusSlots | null, stored: StoredCheckpoint, now: Date): string {
  if (slots === null) return '';
  if (slots.slots === null) return `replication slot ${slots.ownSlot}: could not be read (${slots.error})\n`;
  const context = (slot: SlotReport) => ({
    own: slot.name === slots.ownSlot,
    lastCheckpointAt: stored.storedAt,
    now,
  });
  const own = slots.slots.find((s) => s.name === slots.ownSlot);
  const lines = [
    own === undefined
      ? `replication slot ${slots.ownSlot}: does not exist (the next run creates it)`
      : `replication slot ${describeSlot(own, context(own))}`,
  ];
  const others = slots.slots.filter((s) => s !== own);
  if (others.length > 0) {
    lines.push("other replication slots of Highwater's on this server (see highwater slots):");
    for (const slot of others) lines.push(`  ${describeSlot(slot, context(slot))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The cluster lines of the status report: who holds the lease, and what each live member reads. */
export function describeCluster(cluster: ClusterStatus | undefined, now: Date): string {
  if (cluster === undefined) return '';
  const lines = [
    cluster.leader === null
      ? 'cluster: no leader (no member runs, or the lease expired and is being taken over)'
      : `cluster: leader ${cluster.leader.member} since ${ago(Math.max(0, now.getTime() - cluster.leader.since))}`,
  ];
  if (cluster.members.length === 0) lines.push('  no live members');
  for (const m of cluster.members) {
    const reading = m.reading.length === 0 ? 'reading no chunk' : `reading ${m.reading.join(', ')}`;
    const handed = m.role === 'leader' ? `, ${m.handedOut} chunks handed out` : '';
    lines.push(
      `  ${m.member} (${m.role}, ${m.host} pid ${m.pid}): ${reading}${handed}, ${m.chunksWritten} chunks written`,
    );
  }
  return `${lines.join('\n')}\n`;
}
