import { CheckpointError, type JsonValue } from '@highwater/core';
import fc from 'fast-check';
import { BSON, Binary, Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  AFTER_ALL,
  BEFORE_ALL,
  clusterTimeOfToken,
  type MongoOffset,
  mongoOffsets,
  positionAt,
} from '../src/offsets/mongo-offset.js';

const offset = fc.record({
  clusterTime: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  index: fc.integer({ min: BEFORE_ALL, max: AFTER_ALL }),
  token: fc.option(fc.stringMatching(/^[0-9A-F]{18,60}$/).map((h) => ({ _data: h }))),
});

describe('MongoDB offsets', () => {
  it('order by cluster time, then by index; the token is not compared', () => {
    const a = positionAt(new Timestamp({ t: 10, i: 1 }), 5);
    expect(mongoOffsets.compare(a, positionAt(new Timestamp({ t: 10, i: 2 }), BEFORE_ALL))).toBeLessThan(0);
    expect(mongoOffsets.compare(a, positionAt(new Timestamp({ t: 9, i: 99 }), AFTER_ALL))).toBeGreaterThan(0);
    expect(mongoOffsets.compare(a, { ...a, index: 6 })).toBeLessThan(0);
    expect(mongoOffsets.compare(a, { ...a, token: { _data: 'ff' } })).toBe(0);
    // A watermark is after every event of its cluster time.
    expect(mongoOffsets.compare(a, positionAt(new Timestamp({ t: 10, i: 1 }), AFTER_ALL))).toBeLessThan(0);
  });

  it('round-trip through JSON (property)', () => {
    fc.assert(
      fc.property(offset, (o) => {
        const json = JSON.parse(JSON.stringify(mongoOffsets.toJSON(o as MongoOffset)));
        expect(mongoOffsets.fromJSON(json)).toEqual(o);
      }),
    );
  });

  it('write a token as canonical Extended JSON, the common { _data } form and any other alike (property)', () => {
    const token = fc.oneof(
      fc.stringMatching(/^[0-9A-F]{2,60}$/).map((h) => ({ _data: h })),
      fc.record({ _data: fc.string(), _typeBits: fc.uint8Array({ maxLength: 4 }).map((b) => new Binary(b)) }),
      fc.record({ _data: fc.integer() }),
    );
    fc.assert(
      fc.property(token, (t) => {
        const json = mongoOffsets.toJSON({ clusterTime: 1n, index: 0, token: t } as MongoOffset) as { token: unknown };
        expect(json.token).toEqual(BSON.EJSON.serialize(t, { relaxed: false }));
      }),
    );
  });

  it('refuse what they did not write', () => {
    for (const bad of [
      null,
      5,
      'x',
      {},
      { clusterTime: '1.2', index: 0 },
      { clusterTime: 'a.b', index: 0, token: null },
      { clusterTime: '1.2', index: 1.5, token: null },
      { lsn: '0/0' },
    ]) {
      expect(() => mongoOffsets.fromJSON(bad as JsonValue)).toThrow(CheckpointError);
    }
  });

  it('read the cluster time of a server resume token (KeyString: 0x82, then the 8-byte Timestamp)', () => {
    const ts = new Timestamp({ t: 0x6571a2b3, i: 7 });
    expect(clusterTimeOfToken({ _data: '826571A2B3000000072B022C0100296E5A1004' })).toBe(
      (BigInt(ts.t) << 32n) | BigInt(ts.i),
    );
    expect(clusterTimeOfToken({ _data: '6571a2b300000007' })).toBeNull();
    expect(clusterTimeOfToken(null)).toBeNull();
  });
});
