import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { RowEvent } from '../src/log/images.js';
import { ImageStore } from '../src/normalize/image-store.js';
import { Normalizer } from '../src/normalize/normalizer.js';
import { type MongoOffset, mongoOffsets, positionAt } from '../src/offsets/mongo-offset.js';
import { describeCollection, rowsOf } from '../src/rows/collection-rows.js';

const rows = rowsOf(describeCollection({ database: 'shop', name: 'orders' }, undefined));
const ns = { db: 'shop', coll: 'orders' };
const at = (n: number): MongoOffset => positionAt(BigInt(n) << 32n, 0);
const dirs: string[] = [];

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw-normalize-'));
  dirs.push(dir);
  return join(dir, 'images.sqlite');
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const insert = (doc: BSON.Document): RowEvent => ({
  operationType: 'insert',
  ns,
  documentKey: { _id: doc._id },
  fullDocument: doc,
});
const update = (id: unknown, updatedFields: BSON.Document, removedFields: string[] = []): RowEvent => ({
  operationType: 'update',
  ns,
  documentKey: { _id: id },
  updateDescription: { updatedFields, removedFields },
});
const remove = (id: unknown): RowEvent => ({ operationType: 'delete', ns, documentKey: { _id: id } });

describe('changelog normalize', () => {
  it('derives exact before- and after-images from update descriptions', () => {
    const store = new ImageStore(storePath());
    const n = new Normalizer(store, at(1));
    expect(n.images(insert({ _id: 7, a: 1, tags: ['x'] }), rows, at(2))).toEqual({
      before: null,
      after: { _id: 7, a: 1, tags: ['x'] },
      beforeImage: 'none',
    });
    expect(n.images(update(7, { a: 2, 'tags.1': 'y' }), rows, at(3))).toEqual({
      before: { _id: 7, a: 1, tags: ['x'] },
      after: { _id: 7, a: 2, tags: ['x', 'y'] },
      beforeImage: 'full',
    });
    expect(n.images(update(7, {}, ['a']), rows, at(4)).after).toEqual({ _id: 7, tags: ['x', 'y'] });
    expect(n.images(remove(7), rows, at(5))).toEqual({
      before: { _id: 7, tags: ['x', 'y'] },
      after: null,
      beforeImage: 'full',
    });
    store.close();
  });

  it('writes to disk only what is acknowledged, with its position, and survives a restart', async () => {
    const path = storePath();
    const n = new Normalizer(new ImageStore(path), at(1));
    n.images(insert({ _id: 1, v: 'a' }), rows, at(2));
    n.images(update(1, { v: 'b' }), rows, at(3));
    n.images(insert({ _id: 2, v: 'c' }), rows, at(4));
    await n.acknowledge(at(3));
    expect(n.pendingCount).toBe(1);
    await n.close();
    // A restart: the store holds the images as of the acknowledged position, not later ones.
    const store = new ImageStore(path);
    expect(store.position()).toBe(JSON.stringify(mongoOffsets.toJSON(at(3))));
    expect(BSON.deserialize(store.get('shop.orders', Buffer.from(BSON.serialize({ _id: 1 }))) as Buffer)).toEqual({
      _id: 1,
      v: 'b',
    });
    expect(store.get('shop.orders', Buffer.from(BSON.serialize({ _id: 2 })))).toBeUndefined();
    const again = new Normalizer(store, at(3));
    expect(again.images(update(1, { v: 'd' }), rows, at(5)).before).toEqual({ _id: 1, v: 'b' });
    await again.close();
  });

  it('forgets a dropped collection, in memory at once and on disk when acknowledged', async () => {
    const n = new Normalizer(new ImageStore(storePath()), at(1));
    n.images(insert({ _id: 1 }), rows, at(2));
    await n.acknowledge(at(2));
    n.forget('shop.orders', at(3));
    expect(n.images(remove(1), rows, at(4))).toEqual({ before: { _id: 1 }, after: null, beforeImage: 'key' });
    expect(() => n.images(update(1, { v: 1 }), rows, at(5))).toThrow(/no image of shop.orders _id \[1\]/);
    await n.close();
  });
});
