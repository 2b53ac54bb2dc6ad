import { HighwaterError } from '@highwater/core';
import { loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { formatReport, verifyPipeline } from '../verify/index.js';
import { phaseOf, readStoredCheckpoint } from './status.js';

/** Exit codes of `highwater verify` (docs/verify.md). */
export const VERIFY_EQUAL = 0;
export const VERIFY_DIFFERENT = 1;
export const VERIFY_NOT_POSSIBLE = 2;
/** The stored checkpoint is still in the snapshot phase: rows are missing from the target by design. */
export const VERIFY_MID_SNAPSHOT = 3;

/**
 * `highwater verify pipeline.yaml`: compares the pipeline's source with its SQL target chunk by
 * chunk (docs/verify.md). Exit code 0 when equal, 1 when differences were found, 2 when the
 * comparison could not be made (bad file, unreachable database, a table that could not be read),
 * 3 when the pipeline's stored checkpoint is still mid-snapshot (said first; the report follows).
 */
export async function verifyCommand(
  file: string,
  options: { json?: boolean; tables?: readonly string[]; chunkSize?: number },
): Promise<number> {
  let secrets: readonly string[] = [];
  try {
    const pipeline = await loadPipeline(file);
    secrets = pipeline.secrets;
    // Not being able to read it is no reason not to compare: the comparison reports what is unreachable.
    const stored = await readStoredCheckpoint(pipeline).catch(() => null);
    const snapshotting =
      stored !== null && phaseOf(stored.checkpoint) === 'snapshot'
        ? Object.entries(stored.checkpoint?.tables ?? {})
            .filter(([, t]) => t.phase === 'snapshot')
            .map(([name]) => name)
            .sort()
        : [];
    const notice =
      snapshotting.length === 0
        ? null
        : `pipeline ${pipeline.name} has not stored its whole snapshot yet (still snapshotting: ` +
          `${snapshotting.join(', ')}): rows of those tables are missing from the target until a run ` +
          'finishes it; run the pipeline until `highwater status` says phase: stream, then verify again';
    if (notice !== null && options.json !== true) process.stderr.write(`highwater verify: ${notice}\n`);
    const report = await verifyPipeline(pipeline, {
      tables: splitTableNames(options.tables),
      chunkSize: options.chunkSize,
    });
    const text =
      options.json === true
        ? `${JSON.stringify(notice === null ? report : { ...report, midSnapshot: { tables: snapshotting, notice } }, null, 2)}\n`
        : formatReport(report);
    process.stdout.write(redact(text, secrets));
    if (notice !== null) return VERIFY_MID_SNAPSHOT;
    if (report.totals.errors > 0) return VERIFY_NOT_POSSIBLE;
    return report.equal ? VERIFY_EQUAL : VERIFY_DIFFERENT;
  } catch (error) {
    const message = error instanceof HighwaterError || error instanceof Error ? error.message : String(error);
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ error: redact(message, secrets) })}\n`);
    } else {
      process.stderr.write(`highwater verify: ${redact(message, secrets)}\n`);
    }
    return VERIFY_NOT_POSSIBLE;
  }
}

/** `--tables a,b c` → `[a, b, c]`: names separated by commas, spaces or both (docs show commas). */
export function splitTableNames(names: readonly string[] | undefined): string[] | undefined {
  if (names === undefined) return undefined;
  return names.flatMap((n) => n.split(/[\s,]+/)).filter((n) => n.length > 0);
}
