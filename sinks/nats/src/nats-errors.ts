import { HighwaterError, PermissionError, SinkError } from '@highwater/core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

/**
 * A NATS client failure as one of the core's errors, keeping the original as `cause`: a lost or
 * timed-out connection is retriable (the runner reopens the sink, which removes what the failed batch
 * left and resumes); a refused permission or a JetStream API error is not.
 */
export function natsFailure(error: unknown, what: string, table?: string): HighwaterError {
  if (error instanceof HighwaterError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof errors.AuthorizationError || error instanceof errors.PermissionViolationError) {
    return new PermissionError(
      `NATS refused to ${what}: ${message}; give the pipeline's user publish and JetStream API permissions on the stream`,
      { cause: error },
    );
  }
  if (error instanceof JetStreamApiError) {
    const api = error.apiError();
    return new SinkError(`JetStream refused to ${what}: ${api.description} (error ${api.err_code})`, {
      cause: error,
      table,
    });
  }
  const retriable =
    error instanceof errors.ConnectionError ||
    error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.RequestError;
  return new SinkError(`cannot ${what}: ${message}`, { cause: error, retriable, table });
}
