/**
 * saslStart and saslContinue (https://www.mongodb.com/docs/manual/reference/command/nav-authentication/) with
 * SCRAM-SHA-256. A failed authentication is AuthenticationFailed (18) with the server's terse message.
 */
import { Binary } from 'bson';
import type { CommandContext, CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';
import { ScramConversation, ScramFailure } from '../scram.js';

function payloadText(context: CommandContext): string {
  const payload = context.body.payload;
  if (payload instanceof Binary) return Buffer.from(payload.buffer.subarray(0, payload.position)).toString('utf8');
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('utf8');
  throw new CommandError('BadValue', 'saslStart/saslContinue need a binary payload');
}

function failed(context: CommandContext): CommandError {
  context.connection.conversation = undefined;
  return new CommandError('AuthenticationFailed', 'Authentication failed.');
}

export const authCommands: Record<string, CommandHandler> = {
  saslStart(context) {
    if (context.body.mechanism !== 'SCRAM-SHA-256') {
      throw new CommandError(
        'BadValue',
        `Unsupported mechanism ${String(context.body.mechanism)}: the MongoDB simulator offers SCRAM-SHA-256`,
      );
    }
    const conversation = new ScramConversation(context.state.users);
    try {
      const reply = conversation.start(payloadText(context));
      context.connection.conversation = conversation;
      return { conversationId: 1, done: false, payload: new Binary(Buffer.from(reply)) };
    } catch (error) {
      if (error instanceof ScramFailure) throw failed(context);
      throw error;
    }
  },

  saslContinue(context) {
    const conversation = context.connection.conversation;
    if (conversation === undefined) throw new CommandError('AuthenticationFailed', 'No SASL session state found');
    try {
      const reply = conversation.finish(payloadText(context));
      context.connection.user = conversation.user;
      context.connection.conversation = undefined;
      return { conversationId: 1, done: true, payload: new Binary(Buffer.from(reply)) };
    } catch (error) {
      if (error instanceof ScramFailure) throw failed(context);
      throw error;
    }
  },
};
