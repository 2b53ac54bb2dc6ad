import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decoderFor, spanDecoderFor } from '../src/types/decode.js';
import type { PgType } from '../src/types/pg-type.js';

/** The span decoders (snapshot path) give what the text decoders (both paths) give, on a field inside a line. */
function check(type: PgType, texts: readonly string[]): void {
  const decode = decoderFor(type);
  const span = spanDecoderFor(type);
  for (const text of texts) {
    const line = `x\t${text}\ty`;
    expect(span(line, 2, 2 + text.length)).toEqual(decode(text));
  }
}

describe('span decoders', () => {
  it('timestamptz, fast path and the rest', () => {
    check({ kind: 'base', name: 'timestamptz' }, [
      '2024-02-29 13:45:00.123456+00',
      '2024-02-29 13:45:01+00',
      '2024-03-01 00:00:00+00',
      '2024-03-01 00:00:00.5+00',
      '0044-03-15 10:00:00+00 BC',
      '12345-01-01 00:00:00+00',
      '2024-02-29 13:45:00+05:30',
      'infinity',
      '-infinity',
    ]);
  });

  it('timestamptz of every fraction length, era and offset reads as the text decoder reads it', () => {
    const digits = (n: number, min: number, max: number) =>
      fc.integer({ min, max }).map((v) => String(v).padStart(n, '0'));
    const timestamptz = fc
      .record({
        year: digits(4, 1, 9999),
        month: digits(2, 1, 12),
        day: digits(2, 1, 28),
        time: fc.tuple(digits(2, 0, 23), digits(2, 0, 59), digits(2, 0, 59)).map((t) => t.join(':')),
        fraction: fc.option(
          digits(6, 0, 999_999).map((f) => f.replace(/0+$/, '')),
          { nil: undefined },
        ),
        offset: fc.constantFrom('+00', '+00', '+00', '-07', '+05:30', '+00:00:17'),
        bc: fc.boolean(),
      })
      .map(
        ({ year, month, day, time, fraction, offset, bc }) =>
          `${year}-${month}-${day} ${time}${fraction ? `.${fraction}` : ''}${offset}${bc ? ' BC' : ''}`,
      );
    const decode = decoderFor({ kind: 'base', name: 'timestamptz' });
    const span = spanDecoderFor({ kind: 'base', name: 'timestamptz' });
    fc.assert(
      fc.property(timestamptz, (text) => {
        const line = `7\t${text}\n`;
        expect(span(line, 2, 2 + text.length)).toBe(decode(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('enum labels, known and added later', () => {
    check({ kind: 'enum', name: 'mood', labels: ['sad', 'ok', 'happy', 'hap'] }, [
      'sad',
      'ok',
      'happy',
      'hap',
      'new',
      '',
    ]);
  });

  it('integers and text', () => {
    check({ kind: 'base', name: 'int8' }, ['0', '-1', '123456789012345', '9007199254740993', '-9223372036854775808']);
    check({ kind: 'base', name: 'text' }, ['', 'a', 'a longer piece of text than thirteen']);
  });
});
