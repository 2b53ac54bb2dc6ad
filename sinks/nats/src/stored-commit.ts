import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type CommitMarker, readLastCommit } from './commit-marker.js';
import { connectOptionsFromUrl, redact } from './connect-options.js';
import { natsFailure } from './nats-errors.js';
import { natsSinkLocation } from './location.js';

/**
 * Reads the last commit marker a NATS sink stored (for `highwater status`), without writing anything;
 * `null` when the stream or the marker is not there yet.
 */
export async function readNatsSinkCommit(options: {
  url: string;
  pipeline: string;
  stream?: string;
  subjectPrefix?: string;
}): Promise<CommitMarker | null> {
  const { stream, commitSubject: subject } = natsSinkLocation(options);
  let connection: Awaited<ReturnType<typeof connect>>;
  try {
    connection = await connect(connectOptionsFromUrl(options.url, `highwater status ${options.pipeline}`));
  } catch (error) {
    throw natsFailure(error, `connect to NATS at ${redact(options.url)}`);
  }
  try {
    const jsm = await jetstreamManager(connection);
    const exists = await jsm.streams
      .info(stream)
      .then(() => true)
      .catch(() => false);
    if (!exists) return null;
    return (await readLastCommit(jsm, stream, subject))?.marker ?? null;
  } finally {
    await connection.close();
  }
}
