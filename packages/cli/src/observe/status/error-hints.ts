/**
 * What to do about an error, by its stable code: the "what to do" column of docs/errors.md, short
 * enough for the status page.
 */
const HINTS: Readonly<Record<string, string>> = {
  HW_CONFIG: 'fix the setting named in the message',
  HW_TABLE_NOT_FOUND: 'fix the table name or pattern, or grant access to the table',
  HW_TABLE_WITHOUT_KEY: 'add a primary key, set chunkKeys to unique columns, or exclude the table',
  HW_UNSUPPORTED: 'use another startup mode, or restart with the table in tables.include',
  HW_OFFSET_UNAVAILABLE: 'take a new snapshot (start without the checkpoint) and keep more log on the database',
  HW_CONNECTION_LOST:
    'retried by itself; if it keeps coming, check the database and the network (the checkpoint resumes)',
  HW_PERMISSION_DENIED: 'grant the privilege or change the server setting named in the message',
  HW_DATABASE_SETUP: 'run the statement the message gives on the database (a setting, a replica identity, a slot)',
  HW_SINK_PERMISSION_DENIED: "fix sink.connection's user and password, or grant the privilege named in the message",
  HW_CHECKPOINT_INVALID: 'point the pipeline at its own checkpoint; fix or remove a damaged checkpoint',
  HW_SOURCE_CLOSED: 'the source stopped after an earlier failure: see the error before this one',
  HW_ADAPTER: "read the cause; report it to the adapter's authors if it is a contract violation",
  HW_CLOSE_TIMEOUT: 'a close never finished: check the database or network named in the message',
  HW_SINK: 'read the message: the target refused a write, a table could not be created, or a type has no mapping',
};

/** The hint for `code`, or null for an unknown code or none. */
export function hintFor(code: string | null): string | null {
  return code === null ? null : (HINTS[code] ?? null);
}
