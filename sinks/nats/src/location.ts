import { defaultStreamName } from './nats-sink-options.js';
import { commitSubject, subjectToken } from './subjects.js';

// Its own module, exported also as `@highwater/sink-nats/location`, so that naming where a sink
// stores its commits (`highwater status`, the status page) does not load the NATS client.

/** Where a NATS sink keeps its commits: the stream and the commit subject, defaults filled in. */
export function natsSinkLocation(options: { pipeline: string; stream?: string; subjectPrefix?: string }): {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly commitSubject: string;
} {
  const subjectPrefix = options.subjectPrefix ?? subjectToken(options.pipeline);
  return {
    stream: options.stream ?? defaultStreamName(options.pipeline),
    subjectPrefix,
    commitSubject: commitSubject(subjectPrefix, options.pipeline),
  };
}
