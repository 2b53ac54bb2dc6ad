import { CheckpointError, type JsonValue } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { compareOffsets, type MysqlOffset, mysqlOffsets, positionAt } from '../src/index.js';

const o = (file: string, pos: number, eventIndex: number, rowIndex: number): MysqlOffset => ({
  file,
  pos,
  eventIndex,
  rowIndex,
});

describe('mysql offsets', () => {
  it('orders by file number, then transaction position, event index and row index', () => {
    const ordered = [
      positionAt('binlog.000002', 4),
      o('binlog.000002', 300, 0, 0),
      o('binlog.000002', 300, 0, 1),
      o('binlog.000002', 300, 1, 0),
      positionAt('binlog.000002', 900),
      o('binlog.000002', 900, 0, 0),
      positionAt('binlog.000010', 4),
      o('binlog.000010', 256, 3, 7),
      positionAt('binlog.1000000', 4),
    ];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const c = compareOffsets(ordered[i] as MysqlOffset, ordered[j] as MysqlOffset);
        expect(Math.sign(c), `${i} vs ${j}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('puts a watermark after every row of earlier transactions and before the transaction at it', () => {
    const hw = positionAt('binlog.000003', 1000);
    expect(compareOffsets(o('binlog.000003', 999, 50, 50), hw)).toBeLessThan(0);
    expect(compareOffsets(o('binlog.000003', 1000, 0, 0), hw)).toBeGreaterThan(0);
    expect(compareOffsets(o('binlog.000002', 99999, 0, 0), hw)).toBeLessThan(0);
  });

  it('ignores the gtid when comparing', () => {
    expect(compareOffsets({ ...o('b.000001', 5, 0, 0), gtid: '0-1-9' }, o('b.000001', 5, 0, 0))).toBe(0);
  });

  it('round-trips through JSON, with and without a gtid', () => {
    for (const offset of [o('binlog.000001', 4, -1, -1), { ...o('mysql-bin.000123', 77, 2, 3), gtid: '0-1-42' }]) {
      const json = mysqlOffsets.toJSON(offset);
      expect(mysqlOffsets.fromJSON(JSON.parse(JSON.stringify(json)))).toEqual(offset);
    }
  });

  it('serialises exactly as checkpoints written before store it (keys, order, gtid only when known)', () => {
    expect(JSON.stringify(mysqlOffsets.toJSON({ ...o('binlog.000002', 339, 5, 1), gtid: '0-1-42' }))).toBe(
      '{"file":"binlog.000002","pos":339,"eventIndex":5,"rowIndex":1,"gtid":"0-1-42"}',
    );
    expect(JSON.stringify(mysqlOffsets.toJSON({ ...o('binlog.000002', 339, 5, 1), gtid: undefined }))).toBe(
      '{"file":"binlog.000002","pos":339,"eventIndex":5,"rowIndex":1}',
    );
    expect(JSON.stringify(mysqlOffsets.toJSON(positionAt('binlog.000002', 339)))).toBe(
      '{"file":"binlog.000002","pos":339,"eventIndex":-1,"rowIndex":-1}',
    );
  });

  it('refuses anything it did not write', () => {
    const bad = [
      null,
      'binlog.000001:4',
      { file: 'binlog.000001', pos: 4, eventIndex: 0 },
      { file: 'binlog', pos: 4, eventIndex: 0, rowIndex: 0 },
      { file: 'binlog.000001', pos: -1, eventIndex: 0, rowIndex: 0 },
      { file: 'binlog.000001', pos: 4, eventIndex: -2, rowIndex: 0 },
      { file: 'binlog.000001', pos: 4, eventIndex: 0, rowIndex: 0, lsn: '0/1' },
      { commitLsn: '0/1', lsn: '0/1', seq: 0 },
    ];
    for (const json of bad as JsonValue[])
      expect(() => mysqlOffsets.fromJSON(json), JSON.stringify(json)).toThrow(CheckpointError);
  });
});
