import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Connection } from 'pg';
import { describe, expect, it } from 'vitest';
import { clientConfig } from '../src/connection.js';
import { CopyOutQuery } from '../src/copy-out.js';
import { CopyTextChunks } from '../src/copy-text.js';
import { usePostgres } from './helpers.js';

/** One backend message: code, length (itself included), payload. */
function message(code: string, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A socket stand-in: reads hand out the queued pieces one by one; pg's parser is a listener that records what it gets. */
class FakeSocket extends EventEmitter {
  queue: Buffer[] = [];
  read(): Buffer | null {
    return this.queue.shift() ?? null;
  }
  pause(): this {
    return this;
  }
  /** As a paused socket does when resumed: what is still buffered goes to the data listeners. */
  resume(): this {
    for (let piece = this.queue.shift(); piece !== undefined; piece = this.queue.shift()) this.emit('data', piece);
    return this;
  }
}

/** Runs a CopyOutQuery over `pieces`; returns the text it gave and the bytes handed back to "pg". */
async function run(pieces: Buffer[], after: Buffer): Promise<{ text: string; handedBack: Buffer; sql: string[] }> {
  const socket = new FakeSocket();
  const handed: Buffer[] = [];
  const copy = new CopyOutQuery('COPY x TO STDOUT');
  socket.on('data', (chunk: Buffer) => {
    handed.push(chunk);
    // pg parses CommandComplete and ReadyForQuery: the query is over once the last byte is in.
    if (Buffer.concat(handed).length === after.length) copy.handleReadyForQuery();
  });
  const sql: string[] = [];
  copy.submit({ stream: socket, query: (text: string) => sql.push(text) } as unknown as Connection);
  socket.queue = [...pieces];
  let text = '';
  for (let t = await copy.next(); t !== null; t = await copy.next()) {
    expect(t.endsWith('\n')).toBe(true);
    text += t;
  }
  expect(socket.listeners('data')).toHaveLength(1);
  expect(socket.listeners('readable')).toHaveLength(0);
  return { text, handedBack: Buffer.concat(handed), sql };
}

describe('COPY out reader (protocol)', () => {
  const rows = ['1\té😀\t\\N\n', '2\tb\\tc\n', `3\t${'x'.repeat(300)}\n`, '4\t\n'];
  const after = Buffer.concat([message('C', 'COPY 4\0'), message('Z', 'I')]);
  const wire = Buffer.concat([
    message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])),
    message('d', rows[0] as string),
    message('N', 'SNOTICE\0\0'),
    message('d', rows[1] as string),
    message('S', 'a\0b\0'),
    message('d', rows[2] as string),
    message('d', rows[3] as string),
    message('c', ''),
    after,
  ]);

  it('gives the rows as text and hands the rest back, split at any byte', async () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const r = await run([Buffer.from(wire.subarray(0, cut)), Buffer.from(wire.subarray(cut))], after);
      expect(r.text).toBe(rows.join(''));
      expect(r.handedBack.equals(after)).toBe(true);
      expect(r.sql).toEqual(['COPY x TO STDOUT']);
    }
  });

  it('copes with one byte per read', async () => {
    const r = await run(
      [...wire].map((b) => Buffer.from([b])),
      after,
    );
    expect(r.text).toBe(rows.join(''));
    expect(r.handedBack.equals(after)).toBe(true);
  });

  it('joins only the row a read cut, and takes the rest of the next read in place (not copied again)', async () => {
    const socket = new FakeSocket();
    const copy = new CopyOutQuery('COPY x TO STDOUT');
    socket.on('data', () => undefined);
    copy.submit({ stream: socket, query: () => undefined } as unknown as Connection);
    const first = message('d', '1\tcut here\n');
    const second = Buffer.concat([first.subarray(7), message('d', '2\tx\n'), message('d', '3\ty\n')]);
    socket.queue = [Buffer.concat([message('H', Buffer.from([0, 0, 0])), first.subarray(0, 7)]), second];
    const cut = await copy.nextBytes();
    expect(cut?.toString()).toBe('1\tcut here\n');
    const rest = await copy.nextBytes();
    expect(rest?.toString()).toBe('2\tx\n3\ty\n');
    // A view of the socket's own read, its CopyData headers dropped in place.
    expect(rest?.buffer).toBe(second.buffer);
  });

  it('hands an error response to pg and throws what pg reports', async () => {
    const socket = new FakeSocket();
    const copy = new CopyOutQuery('COPY x TO STDOUT');
    const error = message('E', 'SERROR\0Mboom\0\0');
    socket.on('data', (chunk: Buffer) => {
      expect(chunk.equals(Buffer.concat([error, message('Z', 'I')]))).toBe(true);
      copy.handleError(new Error('boom'));
    });
    copy.submit({ stream: socket, query: () => undefined } as unknown as Connection);
    socket.queue = [
      Buffer.concat([message('H', Buffer.from([0, 0, 0])), message('d', '1\n'), error, message('Z', 'I')]),
    ];
    await expect(copy.next()).rejects.toThrow('boom');
  });
});

const pgs = usePostgres();

describe('COPY out reader (server)', () => {
  it('reads rows longer than a socket read, and leaves the client usable', async () => {
    const client = new pg.Client(clientConfig(pgs.server().url, 'copy-out-test'));
    await client.connect();
    try {
      const copy = client.query(
        new CopyOutQuery(`COPY (SELECT g, repeat(chr(233), g * 100000) FROM generate_series(1, 5) g) TO STDOUT`),
      );
      let text = '';
      for (let t = await copy.next(); t !== null; t = await copy.next()) text += t;
      const lines = text.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => l.split('\t')[1]?.length)).toEqual([100000, 200000, 300000, 400000, 500000]);
      expect(lines.every((l, i) => l === `${i + 1}\t${'é'.repeat((i + 1) * 100000)}`)).toBe(true);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: '1' }]);
    } finally {
      await client.end();
    }
  });

  it('throws an error raised mid-COPY, and the client stays usable', async () => {
    const client = new pg.Client(clientConfig(pgs.server().url, 'copy-out-test'));
    await client.connect();
    try {
      const copy = client.query(
        new CopyOutQuery('COPY (SELECT 1 / (50000 - g) FROM generate_series(1, 100000) g) TO STDOUT'),
      );
      let rows = 0;
      const read = async () => {
        for (let t = await copy.next(); t !== null; t = await copy.next()) rows += t.split('\n').length - 1;
      };
      await expect(read()).rejects.toThrow(/division by zero/);
      expect(rows).toBeLessThan(50000);
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: '2' }]);
    } finally {
      await client.end();
    }
  });
});

describe('COPY text chunks', () => {
  it('gives the same whole lines whatever the byte cuts, the unfinished line apart from the rest', () => {
    const text = '1\té😀\t\\N\n2\tb\\tc\n3\txyz\n4\t\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        const chunks = new CopyTextChunks();
        const pieces: string[] = [];
        for (const part of [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]) {
          chunks.pushEach(Buffer.from(part), (lines) => pieces.push(lines));
        }
        chunks.end();
        expect(pieces.join('')).toBe(text);
        for (const p of pieces) expect(p.endsWith('\n') && p.length > 0).toBe(true);
        // push() joins the same pieces.
        const joined = new CopyTextChunks();
        expect(
          [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]
            .map((p) => joined.push(Buffer.from(p)))
            .join(''),
        ).toBe(text);
      }
    }
  });

  it('refuses output that ends inside a line', () => {
    const chunks = new CopyTextChunks();
    chunks.pushEach(Buffer.from('1\ta\n2\tb'), () => undefined);
    expect(() => chunks.end()).toThrow(/inside a row/);
  });
});
