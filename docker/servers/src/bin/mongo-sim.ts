#!/usr/bin/env node
/**
 * `highwater-mongo-sim [--port=N] [--no-pre-images]`: runs the MongoDB wire-protocol simulator of this
 * package (a SIMULATOR posing as a one-node replica set, not a MongoDB server) until interrupted, for
 * the quickstart and the benchmarks. Prints its connection string on the first line of stdout.
 */
import { startMongoSimulator } from '../mongodb/index.js';

const args = process.argv.slice(2);
const portArg = args.find((a) => a.startsWith('--port='));
const port = portArg === undefined ? undefined : Number(portArg.slice('--port='.length));
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
  console.error(`${portArg}: expected a TCP port number`);
  process.exit(2);
}
const simulator = await startMongoSimulator({
  ...(port === undefined ? {} : { port }),
  preAndPostImages: !args.includes('--no-pre-images'),
});
console.log(simulator.url);
console.error(
  'MongoDB wire-protocol SIMULATOR (not a MongoDB server): one-node replica set rs0, data in memory; Ctrl-C stops it',
);
const stop = () => {
  void simulator.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
