import { describe, expect, it } from 'vitest';
import { AdapterError, ConnectionLostError, networkConnectError, networkFailureOf } from '../../src/index.js';

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

describe('networkConnectError', () => {
  const at = { where: 'db:5432', host: 'db' };
  const failure = (code: string) => Object.assign(new Error('x'), { code });

  it('words each network failure the same for every connector, retriable unless the host is unknown', () => {
    const refused = networkConnectError('mysql', at, failure('ECONNREFUSED'));
    expect(refused).toBeInstanceOf(ConnectionLostError);
    expect(refused?.message).toBe(
      'mysql: cannot connect to db:5432: connection refused: check that the server is running and that host and port are right',
    );
    const unknown = networkConnectError('postgres', at, failure('ENOTFOUND'));
    expect(unknown).toBeInstanceOf(AdapterError);
    expect(unknown?.retriable).toBe(false);
    expect(unknown?.message).toBe('postgres: cannot connect to db:5432: unknown host db: check the host name');
    const silent = networkConnectError('postgres', at, failure('EHOSTUNREACH'));
    expect(silent).toBeInstanceOf(ConnectionLostError);
    expect(silent?.message).toBe(
      'postgres: cannot connect to db:5432: no answer (EHOSTUNREACH): check the host, the port and any firewall in between',
    );
    expect(silent?.cause).toBeInstanceOf(Error);
  });

  it('leaves other failures to the adapter', () => {
    expect(networkConnectError('postgres', at, failure('28P01'))).toBeNull();
  });
});
