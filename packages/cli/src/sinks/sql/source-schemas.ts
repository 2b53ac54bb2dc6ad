import {
  type Introspector,
  type SourceAdapter,
  type TableId,
  type TableSchema,
  tableName,
  withChunkKey,
} from '@highwater/core';

/**
 * `SqlSinkContext.describeTables` backed by the pipeline's source adapter: an introspector opened on
 * first use (most batches need none) and closed with `close()`. `chunkKeys` are the pipeline's, so a
 * table without a primary key is matched on its chunk key as the source keys its events.
 *
 * @example
 * const schemas = sourceTableDescriber(adapter);
 * const sink = createSqlSink(config, { pipelineName, logger, describeTables: schemas.describeTables });
 * // … after the run: await schemas.close();
 */
export function sourceTableDescriber(
  adapter: SourceAdapter<unknown>,
  chunkKeys: { readonly [table: string]: readonly string[] } = {},
): {
  describeTables(tables: readonly TableId[]): Promise<readonly TableSchema[]>;
  close(): Promise<void>;
} {
  let introspector: Promise<Introspector<unknown>> | null = null;
  return {
    async describeTables(tables) {
      introspector ??= adapter.createIntrospector();
      try {
        const schemas = await (await introspector).describeTables(tables);
        return schemas.map((schema) => withChunkKey(schema, chunkKeys[tableName(schema.id)]));
      } catch (error) {
        // A failed connection is not kept: the next batch (after a retry) opens a new one.
        const failed = introspector;
        introspector = null;
        await failed.then((i) => i.close()).catch(() => undefined);
        throw error;
      }
    },
    async close() {
      const open = introspector;
      introspector = null;
      await open?.then((i) => i.close()).catch(() => undefined);
    },
  };
}
