import { formatBytes, type SlotReport } from '@highwater/postgres';
import { type LoadedPipeline, loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { describeSlot, dropPipelineSlot, listPipelineSlots, replicationOf } from '../slots/pipeline-slots.js';
import { EXIT_OK, exitCodeOf } from './run.js';
import { readStoredCheckpoint } from './status.js';

/** Output of `highwater slots`, so tests can run it in-process. */
export interface SlotsCommandIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly now?: Date;
}

/**
 * `highwater slots pipeline.yaml [--drop <slot>]`: lists Highwater's replication slots on the
 * pipeline's Postgres source (named `highwater…`, and the pipeline's own) with the WAL each makes the
 * server keep and when it was last used; with `--drop`, drops that slot and its publication.
 * Exit codes as `highwater run`'s.
 */
export async function slotsCommand(
  file: string,
  options: { json?: boolean; drop?: string } = {},
  io: SlotsCommandIo = {},
): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  let pipeline: LoadedPipeline | null = null;
  try {
    pipeline = await loadPipeline(file, io.env ?? process.env);
    const replication = replicationOf(pipeline);
    if (replication === null) {
      out(
        `pipeline ${pipeline.name}: a ${pipeline.config.source.adapter} source keeps no replication slot on the ` +
          'server (the binlog is read from a position the checkpoint holds): nothing to list or drop\n',
      );
      return EXIT_OK;
    }
    if (options.drop !== undefined) {
      const dropped = await dropPipelineSlot(replication, options.drop);
      out(`dropped ${dropped.join(' and ')}\n`);
      if (options.drop === replication.slotName) {
        out(
          `pipeline ${pipeline.name} used this slot: its stored checkpoint can no longer be resumed; delete the ` +
            'checkpoint to start again with a new snapshot\n',
        );
      }
      return EXIT_OK;
    }
    const slots = await listPipelineSlots(replication);
    const stored = await readStoredCheckpoint(pipeline).catch(() => null);
    const now = io.now ?? new Date();
    const context = (slot: SlotReport) => ({
      own: slot.name === replication.slotName,
      lastCheckpointAt: stored?.storedAt ?? null,
      now,
    });
    if (options.json === true) {
      out(`${JSON.stringify({ pipeline: pipeline.name, ownSlot: replication.slotName, slots }, null, 2)}\n`);
      return EXIT_OK;
    }
    const lines = [`Highwater's replication slots on the source of pipeline ${pipeline.name}:`];
    if (slots.length === 0) lines.push('  none');
    for (const slot of slots) lines.push(`  ${describeSlot(slot, context(slot))}`);
    const retained = slots.reduce((sum, s) => sum + (s.retainedWalBytes ?? 0), 0);
    if (slots.length > 0) {
      lines.push(`WAL retained in all: ${formatBytes(retained)}.`);
      lines.push('Drop a slot nothing reads any more with: highwater slots <pipeline.yaml> --drop <slot>');
    }
    out(redact(`${lines.join('\n')}\n`, pipeline.secrets));
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`highwater slots: ${pipeline === null ? message : redact(message, pipeline.secrets)}\n`);
    return exitCodeOf(error);
  }
}
