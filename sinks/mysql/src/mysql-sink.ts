import type { Sink } from '@highwater/core';
import { SqlSink, type SqlSinkContext, type SqlTargetConfig } from '@highwater/sink-sql';
import { mysqlDialect } from './mysql-dialect.js';

/**
 * A sink replicating tables into MySQL or MariaDB, exactly once: each batch's rows and its
 * checkpoint commit in one transaction (see docs/sinks.md). Nothing connects until `open()`.
 *
 * @example
 * const sink = mysqlSink(
 *   { connection: 'mysql://replica@target/warehouse', tableNaming: 'table', createTables: true },
 *   { pipelineName: 'orders', logger, ...sourceTableDescriber(adapter, { tables: { include: ['shop.*'] } }) },
 * );
 */
export function mysqlSink(config: SqlTargetConfig, context: SqlSinkContext): Sink {
  return new SqlSink(mysqlDialect, { ...config, type: 'mysql' }, context);
}
