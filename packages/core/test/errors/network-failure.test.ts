import { describe, expect, it } from 'vitest';
import { networkFailureOf } from '../../src/index.js';

describe('networkFailureOf', () => {
  it('names refused, unknown-host and unanswered connections by their socket codes', () => {
    const of = (code: unknown) => networkFailureOf(Object.assign(new Error('x'), { code }));
    expect(of('ECONNREFUSED')).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
    expect(of('ENOTFOUND')?.kind).toBe('unknown-host');
    expect(of('EAI_AGAIN')?.kind).toBe('unknown-host');
    expect(of('ETIMEDOUT')).toEqual({ kind: 'no-answer', code: 'ETIMEDOUT' });
    expect(of('EHOSTUNREACH')?.kind).toBe('no-answer');
    expect(of('ENETUNREACH')?.kind).toBe('no-answer');
  });

  it('is null for anything else: lost connections, SQL states, non-errors', () => {
    expect(networkFailureOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeNull();
    expect(networkFailureOf(Object.assign(new Error('x'), { code: '28P01' }))).toBeNull();
    expect(networkFailureOf(new Error('no code'))).toBeNull();
    expect(networkFailureOf('ECONNREFUSED')).toBeNull();
    expect(networkFailureOf(null)).toBeNull();
  });
});
