/**
 * Handshake and server-information commands. `hello` fields for a replica-set primary follow
 * https://www.mongodb.com/docs/manual/reference/command/hello/ (isWritablePrimary, setName, hosts, primary, me,
 * maxBsonObjectSize, maxMessageSizeBytes, maxWriteBatchSize, localTime, logicalSessionTimeoutMinutes, connectionId,
 * min/maxWireVersion, lastWrite). `topologyVersion` is left out, so drivers poll instead of streaming `hello`.
 */
import { ObjectId } from 'bson';
import type { CommandContext, CommandHandler } from '../context.js';
import { CommandError } from '../errors.js';

/** MongoDB 7.0's wire version (https://www.mongodb.com/docs/manual/reference/command/hello/#mongodb-data-hello.maxWireVersion). */
export const MAX_WIRE_VERSION = 21;
export const SIMULATOR_LABEL = 'Highwater MongoDB simulator (a test double, not a MongoDB server)';
const electionId = new ObjectId('7fffffff0000000000000001');

export function hello(context: CommandContext) {
  const { state } = context;
  const me = `127.0.0.1:${state.port}`;
  const now = new Date();
  const reply: Record<string, unknown> = {
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: now,
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.connection.id,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    highwaterSimulator: SIMULATOR_LABEL,
  };
  const mechsFor = context.body.saslSupportedMechs;
  if (
    typeof mechsFor === 'string' &&
    state.users.some((user) => `admin.${user.username}` === mechsFor || mechsFor.endsWith(`.${user.username}`))
  ) {
    reply.saslSupportedMechs = ['SCRAM-SHA-256'];
  }
  if (!state.standalone) {
    const opTime = { ts: state.engine.clock.current(), t: 1 };
    Object.assign(reply, {
      hosts: [me],
      setName: 'rs0',
      setVersion: 1,
      secondary: false,
      primary: me,
      me,
      electionId,
      lastWrite: { opTime, lastWriteDate: now, majorityOpTime: opTime, majorityWriteDate: now },
    });
  }
  return reply;
}

function buildInfo() {
  return {
    version: '7.0.0',
    versionArray: [7, 0, 0, 0],
    gitVersion: 'highwater-simulator',
    simulator: SIMULATOR_LABEL,
    bits: 64,
    maxBsonObjectSize: 16 * 1024 * 1024,
  };
}

export const handshakeCommands: Record<string, CommandHandler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({}),
  buildInfo,
  buildinfo: buildInfo,
  endSessions: () => ({}),
  getParameter: () => ({ featureCompatibilityVersion: { version: '7.0' } }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
  serverStatus: (context) => ({
    host: `127.0.0.1:${context.state.port}`,
    version: '7.0.0',
    process: 'mongod',
    uptime: (Date.now() - context.state.startedAt.getTime()) / 1000,
    localTime: new Date(),
    simulator: SIMULATOR_LABEL,
  }),
  replSetGetStatus: (context) => {
    if (context.state.standalone) throw new CommandError('NoReplicationEnabled', 'not running with --replSet');
    return {
      set: 'rs0',
      myState: 1,
      members: [{ _id: 0, name: `127.0.0.1:${context.state.port}`, stateStr: 'PRIMARY', health: 1 }],
    };
  },
};
