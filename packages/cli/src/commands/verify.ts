import { HighwaterError } from '@highwater/core';
import { loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { formatReport, verifyPipeline } from '../verify/index.js';

/**
 * `highwater verify pipeline.yaml`: compares the pipeline's source with its SQL target chunk by
 * chunk (docs/verify.md). Exit code 0 when equal, 1 when differences were found, 2 when the
 * comparison could not be made (bad file, unreachable database, a table that could not be read).
 */
export async function verifyCommand(
  file: string,
  options: { json?: boolean; tables?: readonly string[]; chunkSize?: number },
): Promise<number> {
  let secrets: readonly string[] = [];
  try {
    const pipeline = await loadPipeline(file);
    secrets = pipeline.secrets;
    const report = await verifyPipeline(pipeline, {
      tables: options.tables,
      chunkSize: options.chunkSize,
    });
    const text = options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report);
    process.stdout.write(redact(text, secrets));
    if (report.totals.errors > 0) return 2;
    return report.equal ? 0 : 1;
  } catch (error) {
    const message = error instanceof HighwaterError || error instanceof Error ? error.message : String(error);
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ error: redact(message, secrets) })}\n`);
    } else {
      process.stderr.write(`highwater verify: ${redact(message, secrets)}\n`);
    }
    return 2;
  }
}
