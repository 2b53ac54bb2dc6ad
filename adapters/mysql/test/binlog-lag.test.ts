import { describe, expect, it } from 'vitest';
import { binlogBytesAfter } from '../src/binlog-lag.js';

describe('binlogBytesAfter', () => {
  const logs = [
    { Log_name: 'binlog.000007', File_size: 1_000 },
    { Log_name: 'binlog.000008', File_size: '2000' },
    { Log_name: 'binlog.000009', File_size: 300 },
  ];

  it('counts the rest of the current file and every later one, never earlier ones', () => {
    expect(binlogBytesAfter(logs, { file: 'binlog.000008', pos: 500 })).toBe(1_500 + 300);
    expect(binlogBytesAfter(logs, { file: 'binlog.000009', pos: 300 })).toBe(0);
    expect(binlogBytesAfter(logs, { file: 'binlog.000007', pos: 4 })).toBe(996 + 2_000 + 300);
  });

  it('counts every file when the position is in a file the server no longer has', () => {
    expect(binlogBytesAfter(logs, { file: 'binlog.000002', pos: 123 })).toBe(3_300);
  });
});
