export { DEFAULT_VERIFY_CHUNK_SIZE, readOnlySource, type VerifyOptions, verifyPipeline } from './verify-pipeline.js';
export { formatReport, type TableReport, type VerifyReport } from './verify-report.js';
