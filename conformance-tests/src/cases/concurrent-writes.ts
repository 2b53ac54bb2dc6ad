import type { SnapshotPhaseHooks, SnapshotSplit } from '@highwater/core';
import { allOf, needsColumnTypes } from '../capabilities.js';
import type { CaseContext, ConformanceCase } from '../case.js';
import { check, fail } from '../support/failure.js';
import { intKeyShape } from '../support/shapes.js';
import { startBackgroundWriter, type WriteKind } from '../support/writer.js';
import { createTable, intRows, openSource, range, verifyOutput } from './common.js';

/**
 * What the hooks do around one chunk, chosen by its index (so the same chunks do the same thing on
 * every run). The "pinned" patterns hold the case's write lock from one phase to another, so no
 * other write lands in between and the staged race happens exactly.
 *
 * - `seen-at-hw`: one write inside the chunk right after its low watermark, before the read (which
 *   sees it), and nothing else until the high watermark: the change sits exactly *at* the high
 *   watermark. It must be merged (harmless) and never emitted — a gate that lets a change at the
 *   high watermark through emits it a second time.
 * - `unseen-at-hw`: one write inside the chunk after the read, before the high watermark: a change
 *   in (LW, HW] the read did not see. It must be merged into the chunk's rows, not emitted.
 * - `held-across-read` (visibility lag): a write inside the chunk logged but held invisible from
 *   before the low watermark until after the read. The read cannot see it, so it is only in the
 *   output if the low watermark was taken below it — a naive low watermark (the log end) loses it.
 * - `held-across-hw` (visibility lag): a write held invisible from after the low watermark until
 *   after the high watermark.
 * - `free`: random writes anywhere at every phase boundary.
 */
type Pattern = 'seen-at-hw' | 'unseen-at-hw' | 'held-across-read' | 'held-across-hw' | 'free';

const PLAIN: readonly Pattern[] = ['seen-at-hw', 'unseen-at-hw', 'free'];
const LAGGED: readonly Pattern[] = ['held-across-read', 'seen-at-hw', 'held-across-hw', 'unseen-at-hw', 'free'];

/** Chunk 0's pinned write: kinds whose loss or duplication the exactly-once checks always see. */
const FIRST_CHUNK_KINDS: { readonly [p in Pattern]?: readonly WriteKind[] } = {
  'seen-at-hw': ['update', 'insert'],
  'held-across-read': ['insert'],
};

const ROWS = 400;
const CHUNK_SIZE = 25;

async function runConcurrentWrites(ctx: CaseContext, visibilityLag: boolean): Promise<void> {
  const lag = visibilityLag ? ctx.harness.capabilities.visibilityLag : undefined;
  if (visibilityLag && lag === undefined) fail('the harness has no visibilityLag');
  const writer = await createTable(
    ctx,
    visibilityLag ? 'lagged' : 'concurrent',
    intKeyShape({ min: -40, max: ROWS + 100 }),
    intRows(range(0, ROWS)),
  );
  const table = writer.table;
  const patterns = visibilityLag ? LAGGED : PLAIN;
  const patternOf = (split: SnapshotSplit): Pattern => patterns[split.index % patterns.length] as Pattern;
  const random = ctx.random.fork('hooks');
  const pins = new Map<string, () => void>();
  const staged = new Map<Pattern, number>();
  const chunks = new Set<string>();
  let freeWrites = 0;

  const pin = async (split: SnapshotSplit): Promise<void> => {
    pins.set(split.id, await ctx.serial.acquire());
  };
  const unpin = (split: SnapshotSplit): void => {
    pins.get(split.id)?.();
    pins.delete(split.id);
  };
  /** The pinned write inside the chunk (the caller holds the lock). */
  const stage = async (split: SnapshotSplit, pattern: Pattern): Promise<void> => {
    const kinds = split.index === 0 ? FIRST_CHUNK_KINDS[pattern] : undefined;
    const made = await writer.randomHeld(random, 1, { range: split.range, ...(kinds === undefined ? {} : { kinds }) });
    staged.set(pattern, (staged.get(pattern) ?? 0) + made);
  };
  const free = async (split: SnapshotSplit): Promise<void> => {
    const inChunk = random.chance(0.5);
    freeWrites += await writer.random(random, random.int(3), inChunk ? { range: split.range } : {});
  };

  const hooks: SnapshotPhaseHooks<unknown> = {
    async beforeLowWatermark(split) {
      if (split.table !== table) return;
      chunks.add(split.id);
      if (patternOf(split) === 'held-across-read') {
        await pin(split);
        await lag?.hold();
        await stage(split, 'held-across-read');
        return;
      }
      await free(split);
    },
    async afterLowWatermark(split) {
      if (split.table !== table) return;
      const p = patternOf(split);
      if (p === 'seen-at-hw') {
        await pin(split);
        await stage(split, p);
      } else if (p === 'held-across-hw') {
        await pin(split);
        await lag?.hold();
        await stage(split, p);
      } else if (p === 'free') {
        await free(split);
      }
    },
    async afterRead(split) {
      if (split.table !== table) return;
      const p = patternOf(split);
      if (p === 'held-across-read') {
        await lag?.release();
      } else if (p === 'unseen-at-hw') {
        await pin(split);
        await stage(split, p);
      } else if (p === 'free') {
        await free(split);
      }
    },
    async beforeHighWatermark(split) {
      if (split.table === table && patternOf(split) === 'free') await free(split);
    },
    async afterHighWatermark(split) {
      if (split.table !== table) return;
      if (patternOf(split) === 'held-across-hw') await lag?.release();
      unpin(split);
      await free(split);
    },
  };

  const { consumer, materialised } = await openSource(ctx, [writer], {
    chunkSize: CHUNK_SIZE,
    parallelism: 4,
    batchSize: 64,
    phaseHooks: hooks,
  });
  await consumer.source.start();
  const background = startBackgroundWriter(ctx, [writer], ctx.random.fork('background'), {
    visibilityLag: lag !== undefined,
  });
  let stopped = false;
  ctx.defer(async () => {
    if (!stopped) await background.stop().catch(() => undefined);
  });
  await consumer.snapshotDone([table], 'snapshotting under concurrent writes');
  // The stream after the snapshot: more writes, with key moves and transactions.
  await writer.random(random, 40);
  stopped = true;
  const backgroundWrites = await background.stop();
  await consumer.catchUp([table]);

  const what = visibilityLag ? 'snapshot under writes with visibility lag' : 'snapshot under concurrent writes';
  await verifyOutput(ctx, materialised, [writer], what);
  check(chunks.size >= 4, () => `${what}: only ${chunks.size} chunks were read; the case needs several`);
  for (const p of patterns.filter((x) => x !== 'free')) {
    check((staged.get(p) ?? 0) > 0, () => `${what}: no '${p}' write was staged (chunks: ${chunks.size})`);
  }
  check(freeWrites + backgroundWrites > 0, `${what}: no concurrent write was made`);
}

export const concurrentWritesCase: ConformanceCase = {
  id: 'snapshot-concurrent-writes',
  title: 'a snapshot under concurrent inserts, updates, deletes and key moves materialises to exactly the final table',
  purpose:
    `Snapshots a ${ROWS}-row table in chunks of ${CHUNK_SIZE} with 4 readers while writing: phase hooks write at every chunk ` +
    "boundary, deterministically staging a change exactly at a chunk's high watermark that the read saw, and one in (LW, HW] " +
    'that it did not; a background writer adds random writes (inserts, updates, deletes, key-moving updates, transactions); ' +
    'then more writes while streaming.',
  passCondition:
    'Every key is read by the snapshot at most once; every change on a key comes after the high watermark of its read ' +
    '(`source.offset`) and after the previous change, so none is emitted twice; inserts find their key absent and ' +
    'updates/deletes present; and the output materialises to exactly the final table.',
  requires: needsColumnTypes('int64', 'int32', 'string'),
  run: (ctx) => runConcurrentWrites(ctx, false),
};

export const visibilityLagCase: ConformanceCase = {
  id: 'snapshot-visibility-lag',
  title: 'commits logged before they are visible are not lost (watermark safety)',
  purpose:
    'The same write load, with the harness holding commits logged-but-invisible around chunk reads: across the low ' +
    'watermark and the read, and across the high watermark; the background writer holds some commits briefly too. ' +
    'This is the race of DESIGN.md "Watermark safety": a low watermark taken as the log end loses such a commit.',
  passCondition: 'As for snapshot-concurrent-writes: exactly-once per key, and exactly the final table.',
  requires: allOf(needsColumnTypes('int64', 'int32', 'string'), (caps) =>
    caps.harness.visibilityLag ? null : 'the harness cannot hold commits invisible (capabilities.visibilityLag)',
  ),
  run: (ctx) => runConcurrentWrites(ctx, true),
};
