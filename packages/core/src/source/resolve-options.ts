import { ConfigError } from '../errors/errors.js';
import { compileTableFilter } from '../schema/table-filter.js';
import type { ResolvedSourceOptions, SourceOptions } from './source-options.js';

const MODES = new Set(['initial', 'snapshot', 'latest', 'earliest', 'offset', 'timestamp']);

/** Applies defaults and rejects malformed options, naming the setting and what it accepts. */
export function resolveOptions<O>(options: SourceOptions<O>): ResolvedSourceOptions<O> {
  if (options === null || typeof options !== 'object') throw new ConfigError('createSource needs an options object');
  if (options.adapter === undefined || typeof options.adapter.createLogReader !== 'function') {
    throw new ConfigError('adapter: pass an adapter, e.g. memoryAdapter(db) or postgresAdapter({ connectionString })');
  }
  if (options.tables === undefined || !Array.isArray(options.tables.include)) {
    throw new ConfigError("tables: pass { include: ['schema.table', 'schema.*'], exclude?: [...] }");
  }
  compileTableFilter(options.tables);
  const startup = options.startup ?? { mode: 'initial' };
  if (!MODES.has(startup.mode)) {
    throw new ConfigError(`startup.mode: '${String(startup.mode)}' is not one of ${[...MODES].join(', ')}`);
  }
  if (startup.mode === 'timestamp' && Number.isNaN(new Date(startup.timestamp).getTime())) {
    throw new ConfigError(`startup.timestamp: '${String(startup.timestamp)}' is not a date`);
  }
  if (startup.mode === 'offset' && startup.offset === undefined) {
    throw new ConfigError(
      "startup.offset: required with mode 'offset' (a serialised offset, e.g. an event's source.offset)",
    );
  }
  return {
    ...options,
    startup,
    chunkSize: positiveInteger(options.chunkSize, 8096, 'chunkSize'),
    parallelism: positiveInteger(options.parallelism, 4, 'parallelism'),
    batchSize: positiveInteger(options.batchSize, 1024, 'batchSize'),
    maxQueuedBatches: positiveInteger(options.maxQueuedBatches, 8, 'maxQueuedBatches'),
    heartbeatIntervalMs: nonNegative(options.heartbeatIntervalMs, 10_000, 'heartbeatIntervalMs'),
    closeTimeoutMs: nonNegative(options.closeTimeoutMs, 30_000, 'closeTimeoutMs'),
    retry: {
      attempts: nonNegative(options.retry?.attempts, 5, 'retry.attempts'),
      initialDelayMs: nonNegative(options.retry?.initialDelayMs, 100, 'retry.initialDelayMs'),
      maxDelayMs: nonNegative(options.retry?.maxDelayMs, 5_000, 'retry.maxDelayMs'),
    },
  };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`${name}: ${String(value)} is not a positive integer`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${name}: ${String(value)} is not a number of 0 or more`);
  }
  return value;
}
