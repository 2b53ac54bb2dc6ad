import { ConfigError } from '@highwater/core';
import { dropReplicationState, formatBytes, inspectSlots, type SlotReport } from '@highwater/postgres';
import { ago } from '../observe/ago.js';
import type { LoadedPipeline } from '../pipeline/load-pipeline.js';
import { postgresConnection, replicationNamesOf } from '../sources/create-adapter.js';

/** Where a Postgres pipeline's replication state lives: its server, slot and publication. */
export interface PipelineReplication {
  readonly connection: ReturnType<typeof postgresConnection>;
  readonly slotName: string;
  readonly publicationName: string;
}

/** The pipeline's replication slot and publication; null for a source that keeps none (MySQL reads the binlog by position). */
export function replicationOf(pipeline: LoadedPipeline): PipelineReplication | null {
  const source = pipeline.config.source;
  if (source.adapter !== 'postgres') return null;
  return { connection: postgresConnection(source.connection), ...replicationNamesOf(source, pipeline.name) };
}

/** Highwater's slots on the pipeline's source server (named `highwater…`) and the pipeline's own. */
export function listPipelineSlots(replication: PipelineReplication): Promise<SlotReport[]> {
  return inspectSlots(replication.connection, [replication.slotName]);
}

/**
 * Drops one of Highwater's slots (`slotName`), and the publication of the same name or, for the
 * pipeline's own slot, its publication. Refuses a slot that is not Highwater's: it may be another
 * consumer's.
 */
export async function dropPipelineSlot(replication: PipelineReplication, slotName: string): Promise<string[]> {
  const slots = await listPipelineSlots(replication);
  if (!slots.some((s) => s.name === slotName)) {
    const names = slots.map((s) => s.name).join(', ') || 'none';
    throw new ConfigError(
      `no replication slot ${slotName} of Highwater's on this server (slots named highwater… and this ` +
        `pipeline's ${replication.slotName}; found: ${names}): drop another consumer's slot with ` +
        `\`SELECT pg_drop_replication_slot('${slotName}');\` if you are sure nothing reads it`,
    );
  }
  const publication = slotName === replication.slotName ? replication.publicationName : slotName;
  return dropReplicationState(replication.connection, { slot: slotName, publication });
}

/** How one slot is doing, in one line: in use or idle since when, the WAL it retains. */
export function describeSlot(
  slot: SlotReport,
  context: { readonly own: boolean; readonly lastCheckpointAt: Date | null; readonly now: Date },
): string {
  const retained =
    slot.retainedWalBytes === null ? 'no WAL retained' : `retains ${formatBytes(slot.retainedWalBytes)} of WAL`;
  return (
    `${slot.name}${context.own ? ' (this pipeline)' : ''}: ${lastUse(slot, context)}, ${retained}` +
    `${slot.walStatus === 'lost' ? ', invalidated (wal_status lost)' : ''}, database ${slot.database}, ` +
    `confirmed up to ${slot.confirmedFlush ?? 'nothing'}`
  );
}

/** When the slot was last read: now, when the server says (Postgres 17+), or when this pipeline last stored a checkpoint. */
export function lastUse(
  slot: SlotReport,
  context: { readonly own: boolean; readonly lastCheckpointAt: Date | null; readonly now: Date },
): string {
  if (slot.active) return `in use now (process ${slot.activePid})`;
  if (slot.inactiveSince !== null)
    return `idle, last used ${ago(context.now.getTime() - slot.inactiveSince.getTime())}`;
  if (context.own && context.lastCheckpointAt !== null) {
    return `idle, last checkpoint stored ${ago(context.now.getTime() - context.lastCheckpointAt.getTime())}`;
  }
  return 'idle, last use unknown (PostgreSQL before 17 does not record it)';
}
