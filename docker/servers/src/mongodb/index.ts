export { type MongoSimulator, type MongoSimulatorOptions, startMongoSimulator } from './server.js';
