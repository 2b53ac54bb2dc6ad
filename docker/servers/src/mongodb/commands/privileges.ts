/**
 * Fault-injected missing privileges: a denied action fails like a user without that role
 * (https://www.mongodb.com/docs/manual/reference/privilege-actions/), with Unauthorized (13).
 */
import type { CommandContext } from '../context.js';
import { CommandError } from '../errors.js';

export function requirePrivilege(context: CommandContext, action: string, coll?: string): void {
  const deniedToUser = context.connection.user?.deniedActions?.includes(action) === true;
  if (!context.state.deniedActions.has(action) && !deniedToUser) return;
  const command = Object.keys(context.body)[0] ?? action;
  const on = coll === undefined ? context.db : `${context.db}.${coll}`;
  throw new CommandError(
    'Unauthorized',
    `not authorized on ${on} to execute command { ${command}: ... } (needs the ${action} action)`,
  );
}
