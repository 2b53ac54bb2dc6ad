import type { Row } from '@highwater/core';
import { needsColumnTypes } from '../capabilities.js';
import type { CaseContext, ConformanceCase } from '../case.js';
import { check } from '../support/failure.js';
import { compositeKeyShape, SKEWED_OUTLIERS, skewedKeyShape, stringKeyShape, uuidKeyShape } from '../support/shapes.js';
import type { RowShape } from '../support/writer.js';
import { createTable, intRows, openSource, randomWriteHooks, range, verifyOutput } from './common.js';

interface KeyScenario {
  readonly name: string;
  readonly shape: RowShape;
  readonly rows: number | readonly Row[];
  readonly chunkSize: number;
  /** Check that no chunk read returned more than this many rows. */
  readonly maxRowsPerChunk?: number;
}

/** Snapshot with writes at every chunk boundary, then stream writes; the output must equal the table. */
async function runKeyScenario(ctx: CaseContext, s: KeyScenario): Promise<void> {
  const writer = await createTable(ctx, s.name, s.shape, s.rows);
  const writes = randomWriteHooks(ctx, [writer], { maxPerPhase: 1 });
  const { consumer, materialised } = await openSource(ctx, [writer], {
    chunkSize: s.chunkSize,
    parallelism: 3,
    phaseHooks: writes.hooks,
  });
  await consumer.snapshotDone([writer.table]);
  await writer.random(ctx.random.fork('stream'), 25);
  await consumer.catchUp([writer.table]);
  const what = `${s.name} keys`;
  await verifyOutput(ctx, materialised, [writer], what);
  check(
    writes.chunks.size >= 3,
    () => `${what}: only ${writes.chunks.size} chunks were read with chunkSize ${s.chunkSize}`,
  );
  const limit = s.maxRowsPerChunk;
  if (limit !== undefined) {
    check(
      writes.maxRowsRead() <= limit,
      () =>
        `${what}: a chunk read returned ${writes.maxRowsRead()} rows with chunkSize ${s.chunkSize}: chunk boundaries do not follow the key distribution`,
    );
  }
}

export const compositeKeysCase: ConformanceCase = {
  id: 'keys-composite',
  title: 'composite primary keys (string, integer) split, merge and stream correctly',
  purpose:
    'A table keyed on (region string, seq int32) — regions with accents, CJK and (where allowed) the empty string — ' +
    'snapshotted in small chunks while hooks write at every chunk boundary, then streamed.',
  passCondition: 'Exactly-once per key, and the output equals the final table.',
  requires: needsColumnTypes('string', 'int32'),
  run: (ctx) =>
    runKeyScenario(ctx, {
      name: 'composite',
      shape: compositeKeyShape(ctx.capabilities.harness.emptyStringKeys),
      rows: 150,
      chunkSize: 12,
    }),
};

export const stringKeysCase: ConformanceCase = {
  id: 'keys-string',
  title: 'string primary keys — unicode, quotes, backslashes, the empty string — split and merge correctly',
  purpose:
    'A table keyed on a string column whose keys stress encodings and collations (the chunk key comparator must order ' +
    'them as the database does), snapshotted in small chunks under writes, then streamed.',
  passCondition: 'Exactly-once per key, and the output equals the final table.',
  requires: needsColumnTypes('string'),
  run: (ctx) =>
    runKeyScenario(ctx, {
      name: 'strkeys',
      shape: stringKeyShape(ctx.capabilities.harness.emptyStringKeys),
      rows: 120,
      chunkSize: 10,
    }),
};

const DENSE = 200;
const SKEWED_CHUNK = 20;

export const skewedKeysCase: ConformanceCase = {
  id: 'keys-skewed-integer',
  title: 'skewed integer keys (a dense block plus far outliers) get chunks of about chunkSize rows',
  purpose:
    `Integer keys 0..${DENSE - 1} plus outliers from −10^12 to 2^53−1: an arithmetic split on min/max would put almost every ` +
    'row in one chunk, so the splitter must walk boundaries (nextChunkBoundary). Snapshotted under writes, then streamed.',
  passCondition: `Exactly-once per key, the output equals the final table, and no chunk read returns more than 2 × chunkSize + 10 rows.`,
  requires: needsColumnTypes('int64', 'int32', 'string'),
  run: (ctx) =>
    runKeyScenario(ctx, {
      name: 'skewed',
      shape: skewedKeyShape(DENSE),
      rows: [...intRows(range(0, DENSE)), ...intRows(SKEWED_OUTLIERS)],
      chunkSize: SKEWED_CHUNK,
      maxRowsPerChunk: 2 * SKEWED_CHUNK + 10,
    }),
};

export const uuidKeysCase: ConformanceCase = {
  id: 'keys-uuid',
  title: 'UUID primary keys split, merge and stream correctly',
  purpose: 'A table keyed on random version-4 UUIDs, snapshotted in small chunks under writes, then streamed.',
  passCondition: 'Exactly-once per key, and the output equals the final table.',
  requires: needsColumnTypes('uuid', 'string'),
  run: (ctx) => runKeyScenario(ctx, { name: 'uuidkeys', shape: uuidKeyShape(), rows: 150, chunkSize: 16 }),
};
