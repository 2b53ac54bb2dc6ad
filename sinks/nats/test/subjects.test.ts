import { describe, expect, it } from 'vitest';
import { commitSubject, subjectMatches, subjectToken, tableSubject } from '../src/subjects.js';

describe('subjects', () => {
  it('turns names into single tokens, reversibly: dots, wildcards, spaces and % are escaped', () => {
    expect(subjectToken('orders')).toBe('orders');
    expect(subjectToken('a.b')).toBe('a%2Eb');
    expect(subjectToken('a b*>')).toBe('a%20b%2A%3E');
    expect(subjectToken('50%')).toBe('50%25');
    expect(subjectToken('a%2Eb')).not.toBe(subjectToken('a.b'));
    expect(subjectToken('çà')).toBe('çà');
  });

  it('names a table by schema, or by database where there is no schema', () => {
    expect(tableSubject('cdc', { database: 'db', schema: 'public', name: 'users' })).toBe('cdc.public.users');
    expect(tableSubject('cdc', { database: 'shop', name: 'orders' })).toBe('cdc.shop.orders');
    expect(tableSubject('cdc', { name: 'solo' })).toBe('cdc._.solo');
  });

  it('keeps commits out of `<prefix>.*.*`', () => {
    const commit = commitSubject('cdc', 'my.pipe');
    expect(commit).toBe('cdc._highwater.my%2Epipe.commit');
    expect(subjectMatches('cdc.*.*', commit)).toBe(false);
    expect(subjectMatches('cdc.>', commit)).toBe(true);
  });

  it('matches NATS wildcards', () => {
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b.c', 'a.b')).toBe(false);
  });
});
