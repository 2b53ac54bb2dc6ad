export { type LoadedPipeline, loadPipeline, parsePipeline } from './pipeline/load-pipeline.js';
export type {
  ConnectionConfig,
  PipelineConfig,
  SinkConfig,
  SourceConfig,
  SqlSinkConfig,
} from './pipeline/pipeline-schema.js';
export { redact } from './pipeline/redact.js';
