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
