import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JsonText } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { connectionOptions } from '../src/connection.js';
import { decoderFor } from '../src/types/decode.js';
import type { MysqlColumn } from '../src/types/mysql-column.js';

/**
 * MySQL 8 stores JSON in the binlog in its binary form; no MySQL 8 server can run here, so this
 * test encodes documents the way MySQL does (a simulator of `json_binary.cc`'s format, written from
 * its published layout) and passes them through the decoder of `@vlasky/zongji` the adapter uses.
 * It checks that a binlog value reads as exactly the same text as the one the server prints for the
 * same document (the snapshot path), 64-bit integers included.
 */

const SMALL_OBJECT = 0x00;
const SMALL_ARRAY = 0x02;
const LITERAL = 0x04;
const INT16 = 0x05;
const INT32 = 0x07;
const INT64 = 0x09;
const UINT64 = 0x0a;
const DOUBLE = 0x0b;
const STRING = 0x0c;

type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };

/** A scalar's type and bytes; small integers and literals are stored inline in their entry. */
function scalar(value: Json): { type: number; inline: number | null; bytes: Buffer } {
  if (value === null || typeof value === 'boolean') {
    return { type: LITERAL, inline: value === null ? 0 : value ? 1 : 2, bytes: Buffer.alloc(0) };
  }
  if (typeof value === 'bigint') {
    const bytes = Buffer.alloc(8);
    if (value < 0n) bytes.writeBigInt64LE(value);
    else bytes.writeBigUInt64LE(value);
    return { type: value < 0n ? INT64 : UINT64, inline: null, bytes };
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -32768 && value <= 32767) {
      return { type: INT16, inline: value & 0xffff, bytes: Buffer.alloc(0) };
    }
    if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
      const bytes = Buffer.alloc(4);
      bytes.writeInt32LE(value);
      return { type: INT32, inline: null, bytes };
    }
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(value);
    return { type: DOUBLE, inline: null, bytes };
  }
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    const length: number[] = [];
    let n = text.length;
    do {
      length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>= 7;
    } while (n > 0);
    return { type: STRING, inline: null, bytes: Buffer.concat([Buffer.from(length), text]) };
  }
  return { type: Array.isArray(value) ? SMALL_ARRAY : SMALL_OBJECT, inline: null, bytes: container(value) };
}

/** A small object or array (offsets in 2 bytes), without its type byte. */
function container(value: Json[] | { [key: string]: Json }): Buffer {
  const isArray = Array.isArray(value);
  // MySQL sorts keys by length, then byte by byte.
  const keys = isArray
    ? []
    : Object.keys(value).sort(
        (a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)),
      );
  const values = isArray ? value : keys.map((k) => (value as { [key: string]: Json })[k] as Json);
  const header = 4 + keys.length * 4 + values.length * 3;
  const keyBytes = keys.map((k) => Buffer.from(k, 'utf8'));
  let at = header + keyBytes.reduce((n, k) => n + k.length, 0);
  const keyEntries: Buffer[] = [];
  let keyAt = header;
  for (const k of keyBytes) {
    const entry = Buffer.alloc(4);
    entry.writeUInt16LE(keyAt, 0);
    entry.writeUInt16LE(k.length, 2);
    keyEntries.push(entry);
    keyAt += k.length;
  }
  const valueEntries: Buffer[] = [];
  const data: Buffer[] = [];
  for (const v of values) {
    const s = scalar(v);
    const entry = Buffer.alloc(3);
    entry[0] = s.type;
    if (s.inline !== null) entry.writeUInt16LE(s.inline, 1);
    else {
      entry.writeUInt16LE(at, 1);
      data.push(s.bytes);
      at += s.bytes.length;
    }
    valueEntries.push(entry);
  }
  const head = Buffer.alloc(4);
  head.writeUInt16LE(values.length, 0);
  head.writeUInt16LE(at, 2);
  return Buffer.concat([head, ...keyEntries, ...valueEntries, ...keyBytes, ...data]);
}

/** A whole document as the binlog carries it: its type byte, then its value. */
function binaryJson(value: Json): Buffer {
  const s = scalar(value);
  const body = s.inline === null ? s.bytes : Buffer.from([s.inline & 0xff, s.inline >> 8]);
  return Buffer.concat([Buffer.from([s.type]), body]);
}

interface ZongjiJson {
  default(input: Buffer): unknown;
  convertBigInts(value: unknown): unknown;
  jsonToText(value: unknown): string;
}

/** zongji's JSON decoder (not among the package's exports: loaded from its file). */
async function zongjiJson(): Promise<ZongjiJson> {
  const entry = createRequire(import.meta.url).resolve('@vlasky/zongji');
  return (await import(pathToFileURL(join(dirname(entry), 'lib', 'json_decode.js')).href)) as ZongjiJson;
}

const column: MysqlColumn = {
  name: 'doc',
  dataType: 'json',
  columnType: 'json',
  charset: null,
  collation: null,
  scale: 0,
  precision: 0,
  nullable: true,
  json: true,
};

describe('MySQL 8 binary JSON from the binlog (simulated encoder, zongji decoder)', () => {
  it('reads as the text the server prints for the snapshot, 64-bit integers included', async () => {
    const zongji = await zongjiJson();
    // zongji gives a column the decoded document as JSON text when its connection has
    // `jsonStrings`, else as parsed values with big integers as strings (lib/common.js, JSON case).
    const options = connectionOptions('mysql://cdc@db/shop');
    const fromBinlog = (value: Json) => {
      const decoded = zongji.default(binaryJson(value));
      return options.jsonStrings === true ? zongji.jsonToText(decoded) : zongji.convertBigInts(decoded);
    };
    const decoder = decoderFor(column);
    const documents: [Json, string][] = [
      // [document, as MySQL 8 prints it in a result set]
      [
        {
          id: 7,
          big: 12345678901234567890n,
          neg: -9007199254740993n,
          ratio: 0.1,
          name: 'naïve ✓',
          ok: true,
          none: null,
        },
        '{"id": 7, "ok": true, "big": 12345678901234567890, "neg": -9007199254740993, "name": "naïve ✓", "none": null, "ratio": 0.1}',
      ],
      [
        [1, 70000, -2, [true, false], { a: 'x' }, 'two\nlines'],
        '[1, 70000, -2, [true, false], {"a": "x"}, "two\\nlines"]',
      ],
      ['just a string', '"just a string"'],
      [1e300, '1e300'],
      [{ '10': 1, '2': 2, b: { deeper: [null] } }, '{"2": 2, "b": {"deeper": [null]}, "10": 1}'],
    ];
    for (const [document, printed] of documents) {
      expect(decoder.fromBinlog(fromBinlog(document))).toStrictEqual(decoder.fromQuery(printed));
    }
    // The one spelling both paths share: MySQL's key order and separators, doubles as JavaScript
    // prints them (MySQL keeps no more than the double).
    expect(decoder.fromQuery(' {"10": 1,"b":{"deeper":[null]}, "2": 2.50, "big": 12345678901234567890}')).toStrictEqual(
      new JsonText('{"2": 2.5, "b": {"deeper": [null]}, "10": 1, "big": 12345678901234567890}'),
    );
    expect(decoder.fromQuery('1e300')).toStrictEqual(new JsonText('1e+300'));
    expect(decoder.fromQuery('null')).toStrictEqual(new JsonText('null'));
  });
});
