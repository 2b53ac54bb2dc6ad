export { type MongoSimulator, type MongoSimulatorOptions, startMongoSimulator } from './server.js';
export type { VisibilityLag } from './backend.js';
export type { SimulatedUser } from './scram.js';
