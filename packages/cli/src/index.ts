export { type LoadedPipeline, loadPipeline, parsePipeline } from './pipeline/load-pipeline.js';
export type {
  ConnectionConfig,
  PipelineConfig,
  SinkConfig,
  SourceConfig,
  SqlSinkConfig,
} from './pipeline/pipeline-schema.js';
export { redact } from './pipeline/redact.js';
export {
  createSqlSink,
  readSqlSinkCheckpoint,
  type SqlSinkContext,
  sourceTableDescriber,
} from './sinks/sql/index.js';
export { formatReport, type TableReport, type VerifyReport, verifyPipeline } from './verify/index.js';
export { verifyCommand } from './commands/verify.js';
export {
  PipelineRunner,
  type PipelineRunnerOptions,
  type RunnerSourceOptions,
  type RunnerState,
  type RunSummary,
} from './run/pipeline-runner.js';
export { type CreateSinkOptions, createSink } from './sinks/create-sink.js';
export type { SinkContext, SinkLogger } from '@highwater/core';
export {
  FileSink,
  type FileSinkOptions,
  type FileSinkState,
  fileSinkCheckpointPath,
  type LineOutput,
  readFileSinkState,
  StdoutSink,
  type StdoutSinkOptions,
} from '@highwater/sink-file';
export { type EventFormat, EventLineEncoder } from '@highwater/core';
export {
  createPipelineLogger,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
  type PipelineLogger,
} from './observe/logger.js';
export {
  type MetricsProvider,
  type MetricsServer,
  PipelineMetrics,
  startMetricsServer,
} from './observe/metrics-server.js';
export { ProgressDisplay } from './observe/progress.js';
export { executeRun, type RunCommandOptions, type RunSetup, runCommand } from './commands/run.js';
export { readStoredCheckpoint, type StoredCheckpoint, statusCommand } from './commands/status.js';
