import type { Introspector, SourceAdapter, TableId, TableSchema } from '@highwater/core';

/**
 * `SqlSinkContext.describeTables` backed by the pipeline's source adapter: an introspector opened on
 * first use (most batches need none) and closed with `close()`.
 *
 * @example
 * const schemas = sourceTableDescriber(adapter);
 * const sink = createSqlSink(config, { pipelineName, logger, describeTables: schemas.describeTables });
 * // … after the run: await schemas.close();
 */
export function sourceTableDescriber(adapter: SourceAdapter<unknown>): {
  describeTables(tables: readonly TableId[]): Promise<readonly TableSchema[]>;
  close(): Promise<void>;
} {
  let introspector: Promise<Introspector<unknown>> | null = null;
  return {
    async describeTables(tables) {
      introspector ??= adapter.createIntrospector();
      try {
        return await (await introspector).describeTables(tables);
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
