import { type AdapterCapabilities, OffsetUnavailableError, type SourceAdapter } from '@highwater/core';
import { compareKeys } from '../database/compare.js';
import type { MemoryDatabase } from '../database/database.js';
import { DeferringMemoryChunkReader, MemoryChunkReader } from './chunk-reader.js';
import { createImageShaper, type PartialImageOption } from './image-shaping.js';
import { MemoryIntrospector } from './introspector.js';
import { MemoryLogReader } from './log-reader.js';
import { memoryOffsets } from './offsets.js';

export interface MemoryAdapterOptions {
  /** Rows per batch yielded by `readChunk` (default 1024). */
  readonly chunkBatchSize?: number;
  /** Log entries read per batch by the log reader (default 4096). */
  readonly logBatchSize?: number;
  /**
   * **Unsafe — for tests only.** Makes `lowWatermark()` return the plain log end, ignoring commits
   * that are logged but not yet visible, i.e. the watermark Flink CDC takes. Under a visibility-lag
   * fault this loses changes; it exists so a test can prove the core's suite catches that.
   */
  readonly unsafeNaiveLowWatermark?: boolean;
  /** `key`: updates and deletes carry only the primary key as `before` (`beforeImage: 'key'`), as Postgres does by default. */
  readonly beforeImage?: 'full' | 'key';
  /**
   * Updates that leave these columns unchanged omit them from `after` and list them in
   * `unchanged` (like Postgres's unchanged TOAST values), to exercise the core's merge of partial images.
   */
  readonly partialImages?: PartialImageOption | readonly PartialImageOption[];
  /**
   * Chunk readers also offer `readUndecodedChunk`: rows as JSON text, decoded when the core emits
   * the chunk (as the Postgres adapter defers decoding COPY output), to exercise that path of the core.
   */
  readonly deferDecoding?: boolean;
}

const capabilities: AdapterCapabilities = {
  startFromEarliest: true,
  startFromTimestamp: true,
  schemaChanges: true,
  truncate: true,
  addTables: true,
};

/**
 * The Highwater adapter for a {@link MemoryDatabase}: the reference implementation of the SPI and
 * the template for adapter authors (see the package README).
 *
 * @example
 * const db = new MemoryDatabase();
 * const adapter = memoryAdapter(db);
 * const source = createSource({ adapter, tables: { include: ['shop.*'] } });
 */
export function memoryAdapter(db: MemoryDatabase, options: MemoryAdapterOptions = {}): SourceAdapter<number> {
  const chunkBatchSize = options.chunkBatchSize ?? 1024;
  const logBatchSize = options.logBatchSize ?? 4096;
  const partialImages = options.partialImages ?? [];
  const shaper = createImageShaper({
    beforeImage: options.beforeImage ?? 'full',
    partialImages: 'table' in partialImages ? [partialImages] : partialImages,
  });
  return {
    name: 'memory',
    capabilities,
    offsets: memoryOffsets,
    // Chunk keys are compared as the database orders primary keys, whatever the table.
    compareKeys: (_table, a, b) => compareKeys(a, b),
    async createIntrospector() {
      return new MemoryIntrospector(db, db.connect('introspector'), options.unsafeNaiveLowWatermark === true);
    },
    async createChunkReader() {
      const connection = db.connect('chunk-reader');
      return options.deferDecoding === true
        ? new DeferringMemoryChunkReader(connection, chunkBatchSize)
        : new MemoryChunkReader(connection, chunkBatchSize);
    },
    async createLogReader(request) {
      const from = request.from;
      // Check the position before opening, as a replication connection is refused for a purged position.
      const start = db.logStart();
      if (from < start) {
        throw new OffsetUnavailableError(
          `memory: cannot read the log after offset ${from}: the entries up to offset ${start} were truncated; ` +
            `the oldest entry kept is offset ${start + 1}, so a reader can start from offset ${start} or later`,
        );
      }
      if (from > db.logEnd()) {
        throw new OffsetUnavailableError(
          `memory: cannot read the log after offset ${from}: the log ends at offset ${db.logEnd()} ` +
            '(is the checkpoint from another database?)',
        );
      }
      return new MemoryLogReader(db, db.connect('log-reader'), from, request.tables, logBatchSize, shaper);
    },
  };
}
