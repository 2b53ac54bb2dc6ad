import type { ChangeEvent, TableSchema } from '@highwater/core';
import { tableName } from '@highwater/core';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { SqlSinkConfig } from '../../src/pipeline/pipeline-schema.js';
import { createSqlSink, sourceTableDescriber } from '../../src/sinks/sql/index.js';
import { createAdapter } from '../../src/sources/create-adapter.js';
import { readOnlySource } from '../../src/verify/index.js';
import { snapshotReadEvent } from '../../src/verify/file-target.js';

/** A pipeline file's text, parsed as `highwater` would. */
export function pipelineOf(
  source: { adapter: 'postgres' | 'mysql'; url: string; include: string },
  target: string,
  sink: { type: 'postgres' | 'mysql'; schema: string } = { type: 'postgres', schema: 'public' },
) {
  const text = `name: verify-test
source:
  adapter: ${source.adapter}
  connection: ${source.url}
  tables: { include: ['${source.include}'] }
sink:
  type: ${sink.type}
  connection: ${target}
  schema: ${sink.schema}
`;
  return parsePipeline(text, '/tmp/verify-test.yaml', {});
}

/** Copies every captured table into the pipeline's SQL sink as snapshot reads (what a finished snapshot leaves). */
export async function copyTables(pipeline: ReturnType<typeof pipelineOf>): Promise<void> {
  const adapter = await createAdapter(readOnlySource(pipeline.config.source), pipeline.name);
  const introspector = await adapter.createIntrospector();
  const reader = await adapter.createChunkReader();
  const described = sourceTableDescriber(adapter, pipeline.config.source);
  const sink = createSqlSink(pipeline.config.sink as SqlSinkConfig, {
    pipelineName: pipeline.name,
    logger: { info: () => undefined, warn: () => undefined, debug: () => undefined },
    describeTables: described.describeTables,
    capturedTables: described.capturedTables,
  });
  try {
    await sink.open();
    const include = pipeline.config.source.tables.include[0] as string;
    const prefix = include.replace(/\*$/, '');
    const ids = (await introspector.listTables()).filter((id) => tableName(id).startsWith(prefix));
    const tables: readonly TableSchema[] = await introspector.describeTables(ids);
    for (const table of tables) {
      const events: ChangeEvent[] = [];
      for await (const rows of reader.readChunk(table, { start: null, end: null })) {
        for (const row of rows) {
          events.push(snapshotReadEvent(table, row, adapter.name));
        }
      }
      await sink.write({
        events,
        checkpoint: { version: 1, connector: adapter.name, position: null, complete: false, tables: {} },
      });
    }
  } finally {
    await sink.close();
    await described.close();
    await reader.close();
    await introspector.close();
  }
}
