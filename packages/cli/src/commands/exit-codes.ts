import { HighwaterError } from '@highwater/core';

/**
 * Exit codes of `highwater run`, `status` and `slots`, one rule for every command: who has to act.
 *
 * - 0: stopped on request, or finished.
 * - 1: the pipeline failed while running, or could not reach a database (a retry may succeed).
 * - 2: the command line or the pipeline file is wrong in itself: fix it (`ConfigError`).
 * - 4: a database is not set up as the pipeline needs (a login or privilege refused, a server
 *   setting, a missing table, a table without a key or replica identity, a publication or slot the
 *   pipeline may not create): the message names the statement to run there.
 *
 * (`verify` keeps its own codes, with 3 for a pipeline still in its snapshot; see docs/verify.md.)
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_SETUP = 4;

/** Error codes that mean a database must be set up differently (exit {@link EXIT_SETUP}). */
const SETUP_CODES: ReadonlySet<string> = new Set([
  'HW_DATABASE_SETUP',
  'HW_PERMISSION_DENIED',
  'HW_TABLE_NOT_FOUND',
  'HW_TABLE_WITHOUT_KEY',
  'HW_SINK_PERMISSION_DENIED',
]);

/** The exit code for an error that ended a command, by its stable code. */
export function exitCodeOf(error: unknown): number {
  if (!(error instanceof HighwaterError)) return EXIT_FAILED;
  if (error.code === 'HW_CONFIG') return EXIT_CONFIG;
  return SETUP_CODES.has(error.code) ? EXIT_SETUP : EXIT_FAILED;
}
