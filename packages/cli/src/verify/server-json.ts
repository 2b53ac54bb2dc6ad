/**
 * One text per JSON document, from a server's JSON text (Postgres `jsonb`/`json`, MySQL `JSON`,
 * MariaDB's JSON text): object keys sorted by code unit, no whitespace, strings re-escaped one way,
 * and numbers as exact decimals (`1e2` → `100`, `1.5E-3` → `0.0015`, `1.10` stays `1.10`, which is
 * how Postgres's `numeric` reads them). Numbers are never turned into doubles: `12345678901234567891`
 * and `…890` stay different. Invalid JSON is returned as it is (it then only equals itself).
 */
export function canonicalJson(text: string): string {
  const parser = { text, at: 0 };
  try {
    const out = value(parser);
    skipSpace(parser);
    return parser.at === text.length ? out : text;
  } catch {
    return text;
  }
}

interface Parser {
  readonly text: string;
  at: number;
}

function skipSpace(p: Parser): void {
  while (p.at < p.text.length && ' \t\n\r'.includes(p.text[p.at] as string)) p.at++;
}

function value(p: Parser): string {
  skipSpace(p);
  const c = p.text[p.at];
  if (c === '{') return object(p);
  if (c === '[') return array(p);
  if (c === '"') return JSON.stringify(string(p));
  for (const word of ['true', 'false', 'null']) {
    if (p.text.startsWith(word, p.at)) {
      p.at += word.length;
      return word;
    }
  }
  const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(p.text.slice(p.at, p.at + 100_000));
  if (m === null) throw new SyntaxError('not JSON');
  p.at += m[0].length;
  return exactDecimal(m[0]);
}

function object(p: Parser): string {
  p.at++;
  const entries = new Map<string, string>();
  skipSpace(p);
  if (p.text[p.at] === '}') {
    p.at++;
    return '{}';
  }
  for (;;) {
    skipSpace(p);
    if (p.text[p.at] !== '"') throw new SyntaxError('not JSON');
    const key = string(p);
    skipSpace(p);
    if (p.text[p.at++] !== ':') throw new SyntaxError('not JSON');
    // A repeated key keeps its last value, as Postgres's jsonb does.
    entries.set(key, value(p));
    skipSpace(p);
    const next = p.text[p.at++];
    if (next === '}') break;
    if (next !== ',') throw new SyntaxError('not JSON');
  }
  const keys = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${entries.get(k)}`).join(',')}}`;
}

function array(p: Parser): string {
  p.at++;
  const items: string[] = [];
  skipSpace(p);
  if (p.text[p.at] === ']') {
    p.at++;
    return '[]';
  }
  for (;;) {
    items.push(value(p));
    skipSpace(p);
    const next = p.text[p.at++];
    if (next === ']') break;
    if (next !== ',') throw new SyntaxError('not JSON');
  }
  return `[${items.join(',')}]`;
}

function string(p: Parser): string {
  let end = p.at + 1;
  while (end < p.text.length && p.text[end] !== '"') end += p.text[end] === '\\' ? 2 : 1;
  const literal = p.text.slice(p.at, end + 1);
  p.at = end + 1;
  return JSON.parse(literal) as string;
}

/** A JSON number literal as an exact decimal with scale max(0, fraction digits − exponent). */
export function exactDecimal(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (m === null) return literal;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const exponent = Number(exp);
  const digits = `${int}${frac}`;
  const scale = Math.max(0, frac.length - exponent);
  // digits × 10^(exponent − frac.length), written with `scale` fraction digits.
  const shift = exponent - frac.length + scale;
  const all = `${digits}${'0'.repeat(Math.max(0, shift))}`.padStart(scale + 1, '0');
  const whole = all.slice(0, all.length - scale).replace(/^0+(?=\d)/, '');
  const fraction = all.slice(all.length - scale);
  const text = scale === 0 ? whole : `${whole}.${fraction}`;
  return sign === '-' && /[1-9]/.test(text) ? `-${text}` : text;
}
