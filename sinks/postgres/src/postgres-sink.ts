import type { Sink } from '@highwater/core';
import { SqlSink, type SqlSinkContext, type SqlTargetConfig } from '@highwater/sink-sql';
import { postgresDialect } from './postgres-dialect.js';

/**
 * A sink replicating tables into PostgreSQL, exactly once: each batch's rows and its checkpoint
 * commit in one transaction (see docs/sinks.md). Nothing connects until `open()`.
 *
 * @example
 * const sink = postgresSink(
 *   { connection: 'postgres://replica@target/warehouse', schema: 'replica', tableNaming: 'table', createTables: true },
 *   { pipelineName: 'orders', logger, ...sourceTableDescriber(adapter, { tables: { include: ['shop.*'] } }) },
 * );
 */
export function postgresSink(config: SqlTargetConfig, context: SqlSinkContext): Sink {
  return new SqlSink(postgresDialect, { ...config, type: 'postgres' }, context);
}
