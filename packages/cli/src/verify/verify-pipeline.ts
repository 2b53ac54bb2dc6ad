import { dirname, resolve } from 'node:path';
import {
  AdapterError,
  ConfigError,
  HighwaterError,
  type Introspector,
  type SourceAdapter,
  type TableSchema,
  tableName,
} from '@highwater/core';
import type { LoadedPipeline } from '../pipeline/load-pipeline.js';
import type { SourceConfig, SqlSinkConfig } from '../pipeline/pipeline-schema.js';
import { dialectOf } from '../sinks/sql/index.js';
import { connectError, sinkError } from '@highwater/sink-sql';
import { describeCapturedTables } from '@highwater/sink-sql';
import { createAdapter } from '../sources/create-adapter.js';
import type { SqlSession } from '@highwater/sink-sql';
import { compareTable, type TableComparison } from './compare-table.js';
import { compareFileTarget } from './file-target.js';
import { adapterRowsReader } from './row-text-reader.js';
import { targetTableOf } from './target-reader.js';
import { type TableReport, totalsOf, type VerifyReport } from './verify-report.js';

export interface VerifyOptions {
  /** Only these captured tables (names or patterns, as in `tables.include`). */
  readonly tables?: readonly string[];
  /** Rows per chunk; default the pipeline's `source.chunkSize`, else 8096. */
  readonly chunkSize?: number;
  /** Keys listed per kind of difference and table (default 20). */
  readonly maxKeys?: number;
  /** Told when a table is done (progress on a terminal). */
  readonly onTable?: (report: TableReport) => void;
}

export const DEFAULT_VERIFY_CHUNK_SIZE = 8096;

/**
 * The pipeline's source without side effects: a Postgres source creates neither its slot nor its
 * publication, and verify never asks for watermarks (which write a WAL message).
 */
export function readOnlySource(source: SourceConfig): SourceConfig {
  if (source.adapter !== 'postgres') return source;
  return { ...source, options: { ...source.options, createSlot: false, createPublication: false } };
}

/**
 * Compares every captured table of a pipeline in its SQL target with the source. Meant for a quiet
 * pipeline: rows written while it runs show up as differences.
 */
export async function verifyPipeline(pipeline: LoadedPipeline, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  const sink = pipeline.config.sink;
  if (sink.type === 'file') return verifyFileSink(pipeline, sink, options, started);
  if (sink.type !== 'postgres' && sink.type !== 'mysql') {
    throw new ConfigError(
      `${pipeline.file}: sink.type is ${sink.type}: verify compares the source with a postgres, mysql or file sink's output`,
    );
  }
  const source = pipeline.config.source;
  if (source.adapter !== 'postgres' && source.adapter !== 'mysql' && source.adapter !== 'mongodb') {
    // verify reads the source as its server prints each value, through a SQL dialect of its own.
    throw new ConfigError(
      `${pipeline.file}: source.adapter is ${source.adapter}: verify compares postgres, mysql and mongodb sources only so far`,
    );
  }
  const chunkSize = options.chunkSize ?? source.chunkSize ?? DEFAULT_VERIFY_CHUNK_SIZE;
  const open: { close(): Promise<void> }[] = [];
  try {
    const { adapter, introspector, tables } = await openCaptured(pipeline, options, open);
    const targetDialect = dialectOf(sink.type);
    const targetSession = await onTarget(sink, () => targetDialect.connect(sink.connection));
    open.push(targetSession);
    const targetSchema = await targetSchemaOf(sink, targetSession);
    let sourceSide: TableComparison['sourceSide'];
    if (source.adapter === 'mongodb') {
      // No SQL to print values with: the adapter reads the rows, compared as the sink writes them.
      const reader = await adapter.createChunkReader();
      open.push(reader);
      sourceSide = { rows: adapterRowsReader(reader, targetDialect) };
    } else {
      const sourceDialect = dialectOf(source.adapter);
      const sourceSession = await sourceDialect.connect(source.connection).catch((error: unknown) => {
        throw new AdapterError(
          `${source.adapter}: verify cannot open its reading connection to the source: ${messageOf(error)}`,
          {
            cause: error,
          },
        );
      });
      open.push(sourceSession);
      sourceSide = { dialect: sourceDialect, session: sourceSession };
    }
    const sides = { sourceSide, targetSide: { dialect: targetDialect, session: targetSession } };
    const reports: TableReport[] = [];
    for (const table of tables) {
      const report = await compareOne(adapter, introspector, sides, table, sink, targetSchema, {
        chunkSize,
        maxKeys: options.maxKeys ?? 20,
      });
      reports.push(report);
      options.onTable?.(report);
    }
    return reportOf(pipeline.name, reports, started);
  } finally {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
  }
}

/** The pipeline's source, read-only, its introspector (pushed on `open`) and the captured tables. */
async function openCaptured(pipeline: LoadedPipeline, options: VerifyOptions, open: { close(): Promise<void> }[]) {
  const source = pipeline.config.source;
  const adapter = await createAdapter(readOnlySource(source), pipeline.name);
  const introspector = await adapter.createIntrospector();
  open.push(introspector);
  const tables = await capturedTables(introspector, source, options.tables);
  return { adapter, introspector, tables };
}

function reportOf(pipeline: string, reports: TableReport[], started: number): VerifyReport {
  const totals = totalsOf(reports);
  return {
    pipeline,
    equal: totals.errors === 0 && totals.missing + totals.extra + totals.different === 0,
    tables: reports,
    totals,
    elapsedMs: Date.now() - started,
  };
}

/** verify against a file sink: its JSON lines replayed, against the source read through the adapter. */
async function verifyFileSink(
  pipeline: LoadedPipeline,
  sink: Extract<LoadedPipeline['config']['sink'], { type: 'file' }>,
  options: VerifyOptions,
  started: number,
): Promise<VerifyReport> {
  const source = pipeline.config.source;
  const open: { close(): Promise<void> }[] = [];
  try {
    const { adapter, introspector, tables } = await openCaptured(pipeline, options, open);
    const reader = await adapter.createChunkReader();
    open.push(reader);
    const reports = await compareFileTarget({
      // As the sink resolves it: relative to the pipeline file's directory.
      path: resolve(dirname(pipeline.file), sink.path),
      format: sink.format,
      serverName: pipeline.name,
      adapterName: adapter.name,
      tables,
      introspector,
      reader,
      compareKeys: (t, a, b) => adapter.compareKeys(t, a, b),
      chunkSize: options.chunkSize ?? source.chunkSize ?? DEFAULT_VERIFY_CHUNK_SIZE,
      maxKeys: options.maxKeys ?? 20,
    });
    for (const report of reports) options.onTable?.(report);
    return reportOf(pipeline.name, reports, started);
  } finally {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
  }
}

async function compareOne(
  adapter: SourceAdapter<unknown>,
  introspector: Introspector<unknown>,
  sides: Pick<TableComparison, 'sourceSide' | 'targetSide'>,
  table: TableSchema,
  sink: SqlSinkConfig,
  targetSchema: string,
  settings: { chunkSize: number; maxKeys: number },
): Promise<TableReport> {
  const target = targetTableOf(table, sink, targetSchema);
  try {
    return await compareTable({
      source: table,
      target,
      introspector,
      compareKeys: (t, a, b) => adapter.compareKeys(t, a, b),
      ...sides,
      ...settings,
    });
  } catch (error) {
    return {
      table: tableName(table.id),
      target: tableName(target.id),
      sourceRows: 0,
      targetRows: 0,
      chunks: 0,
      chunksCompared: 0,
      missing: 0,
      extra: 0,
      different: 0,
      missingKeys: [],
      extraKeys: [],
      differentKeys: [],
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

async function capturedTables(
  introspector: Introspector<unknown>,
  source: SourceConfig,
  only: readonly string[] | undefined,
): Promise<readonly TableSchema[]> {
  const schemas = await describeCapturedTables(introspector, source, only);
  if (schemas.length === 0) {
    throw new ConfigError(
      only === undefined || only.length === 0
        ? 'no source table matches the pipeline’s tables.include/exclude'
        : `no captured table matches ${only.join(', ')}`,
    );
  }
  return schemas;
}

async function targetSchemaOf(sink: SqlSinkConfig, session: SqlSession): Promise<string> {
  if (sink.schema !== undefined) return sink.schema;
  const dialect = dialectOf(sink.type);
  try {
    return await dialect.currentSchema(session);
  } catch (error) {
    throw sinkError(dialect, 'finding the target schema', error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connects to the target. A failure is worded as `highwater run` words it for the sink (`postgres
 * sink: authentication failed for user "u" at host:port: check sink.connection's user and
 * password`), so it is never mistaken for the source's: the target is read with the target
 * database's own adapter, whose messages would otherwise read like a source's.
 */
async function onTarget<T>(sink: SqlSinkConfig, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    const raw = error instanceof HighwaterError && error.cause !== undefined ? error.cause : error;
    throw connectError(dialectOf(sink.type), sink.connection, raw);
  }
}
