/**
 * The text of a MySQL binary-JSON document in one form, whichever path it came from.
 *
 * MySQL stores `JSON` columns parsed (binary JSON) and prints them normalised: object keys sorted by
 * length and then byte by byte (the order of the binary form), `", "` and `": "` between members,
 * integers as integers, other numbers as doubles. The snapshot path reads that print-out; the
 * binlog path gets the binary form, which zongji renders as text itself (`jsonStrings`): it prints
 * doubles as JavaScript does (`1e+300`, `2` for MySQL's `2.0`) and, because it builds JavaScript
 * objects first, moves integer-like keys (`"10"`) to the front. Both texts hold the same stored
 * document; this gives them one spelling: MySQL's key order and separators, integers as written,
 * and every other number as the shortest JavaScript text of its double (MySQL keeps no more than
 * the double). Nothing is lost: MySQL's stored document is the same either way.
 *
 * MariaDB's `JSON` is text, kept as written, and never goes through this.
 */
export function binaryJsonText(text: string): string {
  const reader = { text, at: 0 };
  const out = value(reader);
  skipSpace(reader);
  if (reader.at !== text.length) throw new SyntaxError(`unexpected text after a JSON document at ${reader.at}`);
  return out;
}

interface Reader {
  readonly text: string;
  at: number;
}

function skipSpace(r: Reader): void {
  while (r.at < r.text.length && ' \t\n\r'.includes(r.text[r.at] as string)) r.at++;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;
const LITERAL = /true|false|null/y;

function match(r: Reader, pattern: RegExp): string {
  pattern.lastIndex = r.at;
  const m = pattern.exec(r.text);
  if (m === null) throw new SyntaxError(`not JSON at ${r.at}: ${r.text.slice(r.at, r.at + 20)}`);
  r.at += m[0].length;
  return m[0];
}

function value(r: Reader): string {
  skipSpace(r);
  const c = r.text[r.at];
  if (c === '{') return object(r);
  if (c === '[') return array(r);
  if (c === '"') return JSON.stringify(JSON.parse(match(r, STRING)) as string);
  if (c === 't' || c === 'f' || c === 'n') return match(r, LITERAL);
  const number = match(r, NUMBER);
  return /[.eE]/.test(number) ? String(Number(number)) : number;
}

function array(r: Reader): string {
  r.at++;
  const items: string[] = [];
  skipSpace(r);
  if (r.text[r.at] === ']') {
    r.at++;
    return '[]';
  }
  for (;;) {
    items.push(value(r));
    skipSpace(r);
    const c = r.text[r.at++];
    if (c === ']') return `[${items.join(', ')}]`;
    if (c !== ',') throw new SyntaxError(`expected , or ] at ${r.at - 1}`);
  }
}

function object(r: Reader): string {
  r.at++;
  const members: { key: string; bytes: Buffer; value: string }[] = [];
  skipSpace(r);
  if (r.text[r.at] === '}') {
    r.at++;
    return '{}';
  }
  for (;;) {
    skipSpace(r);
    const key = JSON.parse(match(r, STRING)) as string;
    skipSpace(r);
    if (r.text[r.at++] !== ':') throw new SyntaxError(`expected : at ${r.at - 1}`);
    members.push({ key, bytes: Buffer.from(key, 'utf8'), value: value(r) });
    skipSpace(r);
    const c = r.text[r.at++];
    if (c === '}') break;
    if (c !== ',') throw new SyntaxError(`expected , or } at ${r.at - 1}`);
  }
  members.sort((a, b) => a.bytes.length - b.bytes.length || Buffer.compare(a.bytes, b.bytes));
  return `{${members.map((m) => `${JSON.stringify(m.key)}: ${m.value}`).join(', ')}}`;
}
