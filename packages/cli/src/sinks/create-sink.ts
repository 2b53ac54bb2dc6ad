import { dirname, resolve } from 'node:path';
import type { Sink, SinkContext, SourceAdapter } from '@highwater/core';
import type { LineOutput } from '@highwater/sink-file';
import type { LoadedPipeline } from '../pipeline/load-pipeline.js';

/** Test seams for {@link createSink}. */
export interface CreateSinkOptions {
  /** Where the stdout sink writes (default `process.stdout`). */
  readonly stdout?: LineOutput;
  /**
   * The pipeline's source adapter: SQL sinks use it to read source table definitions, to create
   * target tables with mapped types. Its connection is opened on first use and closed with the sink.
   */
  readonly adapter?: SourceAdapter<unknown>;
}

/**
 * The sink a pipeline's `sink` section describes. Nothing is connected to or written yet: the
 * runner calls `open()`. A relative `file` path is taken from the pipeline file's directory. Only
 * that sink's package (and its driver) is imported.
 */
export async function createSink(
  pipeline: LoadedPipeline,
  context: SinkContext,
  options: CreateSinkOptions = {},
): Promise<Sink> {
  const sink = pipeline.config.sink;
  switch (sink.type) {
    case 'stdout': {
      const { StdoutSink } = await import('@highwater/sink-file');
      return new StdoutSink({ format: sink.format, serverName: context.pipelineName, output: options.stdout });
    }
    case 'file': {
      const { FileSink } = await import('@highwater/sink-file');
      return new FileSink({
        path: resolve(dirname(pipeline.file), sink.path),
        format: sink.format,
        serverName: context.pipelineName,
        logger: context.logger,
      });
    }
    case 'postgres':
    case 'mysql': {
      const { createSqlSink, sourceTableDescriber } = await import('./sql/index.js');
      const describer =
        options.adapter === undefined ? null : sourceTableDescriber(options.adapter, pipeline.config.source);
      const sql = createSqlSink(sink, {
        ...context,
        describeTables: describer?.describeTables,
        capturedTables: describer?.capturedTables,
      });
      return describer === null ? sql : closingAlso(sql, () => describer.close());
    }
    case 'nats': {
      const { NatsSink } = await import('@highwater/sink-nats');
      return new NatsSink({
        url: sink.url,
        pipeline: context.pipelineName,
        stream: sink.stream,
        subjectPrefix: sink.subjectPrefix,
        format: sink.format,
        maxInFlight: sink.maxInFlight,
        limits: sink.streamLimits,
        logger: context.logger,
      });
    }
  }
}

/** The sink, with `cleanup` run after its `close` (also when that fails). */
function closingAlso(sink: Sink, cleanup: () => Promise<void>): Sink {
  return {
    name: sink.name,
    storesCheckpoints: sink.storesCheckpoints,
    open: () => sink.open(),
    write: (batch) => sink.write(batch),
    close: async () => {
      try {
        await sink.close();
      } finally {
        await cleanup();
      }
    },
  };
}
