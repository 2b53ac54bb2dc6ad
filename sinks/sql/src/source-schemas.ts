import {
  type Introspector,
  type JsonValue,
  type SourceAdapter,
  type TableId,
  type TableSchema,
  tableName,
  withChunkKey,
} from '@highwater/core';
import { type CapturedTablesConfig, describeCapturedTables } from './captured-tables.js';

/**
 * `SqlSinkContext.describeTables` (and, given the pipeline's `source`, `capturedTables`; and
 * `compareOffsets`, from the adapter's offset codec) backed by
 * the pipeline's source adapter: an introspector opened on first use and closed with `close()`. The
 * source's `chunkKeys` apply, so a table without a primary key is matched on its chunk key as the
 * source keys its events.
 *
 * @example
 * const schemas = sourceTableDescriber(adapter, pipeline.config.source);
 * const sink = createSqlSink(config, { pipelineName, logger, ...schemas });
 * // … after the run: await schemas.close();
 */
export function sourceTableDescriber(
  adapter: SourceAdapter<unknown>,
  source?: CapturedTablesConfig,
): {
  describeTables(tables: readonly TableId[]): Promise<readonly TableSchema[]>;
  capturedTables?: () => Promise<readonly TableSchema[]>;
  compareOffsets(a: JsonValue, b: JsonValue): number;
  close(): Promise<void>;
} {
  let introspector: Promise<Introspector<unknown>> | null = null;
  async function using<T>(use: (i: Introspector<unknown>) => Promise<T>): Promise<T> {
    introspector ??= adapter.createIntrospector();
    try {
      return await use(await introspector);
    } catch (error) {
      // A failed connection is not kept: the next batch (after a retry) opens a new one.
      const failed = introspector;
      introspector = null;
      await failed?.then((i) => i.close()).catch(() => undefined);
      throw error;
    }
  }
  return {
    describeTables: (tables) =>
      using(async (i) =>
        (await i.describeTables(tables)).map((schema) =>
          withChunkKey(schema, source?.chunkKeys?.[tableName(schema.id)]),
        ),
      ),
    ...(source === undefined ? {} : { capturedTables: () => using((i) => describeCapturedTables(i, source)) }),
    compareOffsets: (a, b) => adapter.offsets.compare(adapter.offsets.fromJSON(a), adapter.offsets.fromJSON(b)),
    async close() {
      const open = introspector;
      introspector = null;
      await open?.then((i) => i.close()).catch(() => undefined);
    },
  };
}
