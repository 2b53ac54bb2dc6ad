import type { SourceMetrics } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { formatLsn, readableLogFigures } from '../../src/observe/log-figures.js';
import { streamLine } from '../../src/observe/progress.js';

describe('log figures for reading', () => {
  it('writes an LSN as Postgres does, high and low 32 bits in hex', () => {
    expect(formatLsn(0x16b3748)).toBe('0/16B3748');
    expect(formatLsn(0x1_0000_00ff)).toBe('1/FF');
    expect(formatLsn(0)).toBe('0/0');
  });

  it('turns …Lsn figures into text and leaves the others numbers', () => {
    expect(readableLogFigures({ slotLagBytes: 776, confirmedFlushLsn: 0x16b3748 })).toEqual({
      slotLagBytes: 776,
      confirmedFlushLsn: '0/16B3748',
    });
  });

  it('the progress line shows the LSN text, not a decimal', () => {
    const m = {
      eventsEmitted: 1,
      eventsPerSecond: 0,
      currentEmitEventTimeLag: null,
      sourceIdleTime: 0,
      log: { slotLagBytes: 2048, confirmedFlushLsn: 0x16b3748 },
    } as unknown as SourceMetrics;
    const line = streamLine('stream', m);
    expect(line).toContain('confirmedFlushLsn 0/16B3748');
    expect(line).toContain('slotLagBytes 2,048');
    expect(line).not.toContain('23,803,720');
  });
});
