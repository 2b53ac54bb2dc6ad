/** The part of a pino logger sinks use, so they can be tested without one. */
export interface SinkLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** What a sink is told about the pipeline it serves. */
export interface SinkContext {
  /** The pipeline's name: the key of its checkpoint row in a SQL target. */
  readonly pipelineName: string;
  readonly logger: SinkLogger;
}
