export {
  FileSink,
  type FileSinkOptions,
  type FileSinkState,
  fileSinkCheckpointPath,
  readFileSinkState,
} from './file-sink.js';
export { type LineOutput, StdoutSink, type StdoutSinkOptions } from './stdout-sink.js';
