import { CheckpointError, type JsonValue } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../src/offsets/lsn.js';
import { compareOffsets, type PgOffset, pgOffsets, positionAt } from '../src/offsets/pg-offset.js';

describe('LSNs', () => {
  it('parses both formats the library yields to the same 64-bit number', () => {
    expect(parseLsn('0/00000000')).toBe(0n);
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(parseLsn('16/b374d848')).toBe(0x16b374d848n);
    expect(parseLsn('0/0000000A')).toBe(parseLsn('0/A'));
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(0xffffffffffffffffn);
    expect(() => parseLsn('16-B3')).toThrow();
    expect(() => parseLsn('1/123456789')).toThrow();
  });

  it('compares as numbers, not as strings', () => {
    // As strings "0/9" > "0/10" and "0/0000000A" < "0/9": both wrong.
    expect(parseLsn('0/9') < parseLsn('0/10')).toBe(true);
    expect(parseLsn('0/0000000A') > parseLsn('0/9')).toBe(true);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
  });

  it('formats as Postgres does and round-trips', () => {
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    for (const t of ['0/0', '1/0', 'FFFFFFFF/FFFFFFFF', 'A/1B']) expect(formatLsn(parseLsn(t))).toBe(t);
  });
});

describe('Postgres offsets', () => {
  const change = (commit: string, lsn: string, seq: number): PgOffset => ({
    commitLsn: parseLsn(commit),
    lsn: parseLsn(lsn),
    seq,
  });

  it('orders by commit, then position inside the transaction', () => {
    const a = change('0/200', '0/100', 0);
    const b = change('0/200', '0/180', 1);
    const c = change('0/200', '0/180', 2); // same WAL record (multi-insert), next row
    const d = change('0/300', '0/150', 0); // began earlier, committed later
    const sorted = [d, c, a, b].sort(compareOffsets);
    expect(sorted).toEqual([a, b, c, d]);
  });

  it('a watermark at L sorts after every change committed before L and before every change committed at or after L', () => {
    const w = positionAt(parseLsn('0/200'));
    expect(compareOffsets(change('0/1FF', '0/1FE', 99), w)).toBeLessThan(0);
    expect(compareOffsets(change('0/100', '0/10', 0), w)).toBeLessThan(0);
    expect(compareOffsets(change('0/200', '0/100', 0), w)).toBeGreaterThan(0);
    expect(compareOffsets(change('0/201', '0/1', 0), w)).toBeGreaterThan(0);
    expect(compareOffsets(w, positionAt(parseLsn('0/200')))).toBe(0);
    expect(compareOffsets(w, positionAt(parseLsn('0/201')))).toBeLessThan(0);
  });

  it('serialises as JSON and back', () => {
    const o = change('16/B374D848', '16/B374D000', 3);
    const json = pgOffsets.toJSON(o);
    expect(json).toEqual({ commitLsn: '16/B374D848', lsn: '16/B374D000', seq: 3 });
    expect(pgOffsets.fromJSON(JSON.parse(JSON.stringify(json)))).toEqual(o);
    expect(pgOffsets.fromJSON(pgOffsets.toJSON(positionAt(5n)))).toEqual(positionAt(5n));
  });

  it('rejects what it did not write', () => {
    const bads: JsonValue[] = [
      null,
      5,
      'x',
      [],
      { commitLsn: '0/1', lsn: '0/1' },
      { commitLsn: 'zz', lsn: '0/1', seq: 0 },
    ];
    for (const bad of bads) {
      expect(() => pgOffsets.fromJSON(bad)).toThrow(CheckpointError);
    }
    expect(() => pgOffsets.fromJSON({ commitLsn: '0/1', lsn: '0/1', seq: 1.5 })).toThrow(CheckpointError);
  });
});
