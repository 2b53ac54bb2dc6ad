export { type CommitMarker, readLastCommit } from './commit-marker.js';
export { HEADER as NATS_HEADERS } from './headers.js';
export { NatsSink } from './nats-sink.js';
export {
  defaultStreamName,
  NATS_SINK_DEFAULTS,
  type NatsSinkOptions,
  type NatsStreamLimits,
} from './nats-sink-options.js';
export { commitSubject, subjectMatches, subjectToken, tableSubject } from './subjects.js';
export { natsSinkLocation } from './location.js';
export { readNatsSinkCommit } from './stored-commit.js';
