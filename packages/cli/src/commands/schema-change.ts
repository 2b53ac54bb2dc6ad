import { ConfigError } from '@highwater/core';
import { ACCEPT_MODES, type AcceptMode, acceptSchemaChange } from '@highwater/sink-sql';
import { type LoadedPipeline, loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { dialectOf } from '../sinks/sql/index.js';
import { EXIT_OK, exitCodeOf } from './exit-codes.js';

/** Output of `highwater schema-change`, so tests can run it in-process. */
export interface SchemaChangeCommandIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

/**
 * `highwater schema-change accept pipeline.yaml [--table <source table>] [--as evolve|lenient|ignore]`:
 * after a SQL sink stopped at a source DDL (`SchemaChangeRefusedError`) and the user handled it,
 * records in the stored checkpoint that the refused change (the sink noted it there; `--table`
 * names it when it could not) passes as `--as` would decide it (default `evolve`: what the target
 * still lacks is applied, what was done by hand is found in its catalog and skipped). The next
 * `highwater run` resumes past it. Exit codes as `highwater run`'s.
 */
export async function schemaChangeAcceptCommand(
  file: string,
  options: { table?: string; as?: string },
  io: SchemaChangeCommandIo = {},
): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  let pipeline: LoadedPipeline | null = null;
  try {
    const table = options.table === '' ? undefined : options.table;
    const as = options.as ?? 'evolve';
    if (!(ACCEPT_MODES as readonly string[]).includes(as))
      throw new ConfigError(`--as must be one of ${ACCEPT_MODES.join(', ')}, got ${as}`);
    pipeline = await loadPipeline(file, io.env ?? process.env);
    const sink = pipeline.config.sink;
    if (sink.type !== 'postgres' && sink.type !== 'mysql') {
      throw new ConfigError(
        `pipeline ${pipeline.name} writes to a ${sink.type} sink, which passes every schema change on and refuses none: ` +
          'there is nothing to accept',
      );
    }
    const { checkpoint, accepted, refused } = await acceptSchemaChange(dialectOf(sink.type), sink, pipeline.name, {
      as: as as AcceptMode,
      ...(table === undefined ? {} : { table }),
    });
    const what =
      refused === null
        ? `the next schema change of ${accepted.table} that sink.schemaChanges would refuse`
        : `the refused ${refused.change}${refused.column === null ? '' : ` of column ${refused.column}`} on ${refused.table} ` +
          `(source offset ${JSON.stringify(refused.offset)})`;
    out(
      `pipeline ${pipeline.name}: ${what} passes as ${as} when the pipeline runs again; it resumes from the stored ` +
        `checkpoint (position ${JSON.stringify(checkpoint.position)})\n`,
    );
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`highwater schema-change accept: ${pipeline === null ? message : redact(message, pipeline.secrets)}\n`);
    return exitCodeOf(error);
  }
}
