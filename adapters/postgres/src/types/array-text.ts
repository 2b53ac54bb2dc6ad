import type { Value } from '@highwater/core';

/**
 * Parses Postgres's array output (`{1,NULL,"a b","x\"y"}`, nested `{{1,2},{3,4}}`, with an optional
 * dimension prefix `[0:1]={…}`), decoding each element with `element`. Unquoted `NULL` is null;
 * a quoted `"NULL"` is the string.
 */
export function parseArrayText(text: string, delimiter: string, element: (text: string) => Value): Value[] {
  let i = 0;
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    if (eq < 0) throw new Error(`unexpected array text: ${JSON.stringify(text)}`);
    i = eq + 1;
  }
  const parseLevel = (): Value[] => {
    if (text[i] !== '{') throw new Error(`unexpected array text at ${i}: ${JSON.stringify(text)}`);
    i++;
    const out: Value[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      const c = text[i];
      if (c === '{') {
        out.push(parseLevel());
      } else if (c === '"') {
        i++;
        let s = '';
        for (;;) {
          const ch = text[i];
          if (ch === undefined) throw new Error(`unterminated quoted array element: ${JSON.stringify(text)}`);
          if (ch === '\\') {
            s += text[i + 1] ?? '';
            i += 2;
          } else if (ch === '"') {
            i++;
            break;
          } else {
            s += ch;
            i++;
          }
        }
        out.push(element(s));
      } else {
        const start = i;
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++;
        const raw = text.slice(start, i);
        out.push(raw === 'NULL' ? null : element(raw));
      }
      const next = text[i];
      i++;
      if (next === '}') return out;
      if (next !== delimiter) throw new Error(`unexpected array text at ${i - 1}: ${JSON.stringify(text)}`);
    }
  };
  return parseLevel();
}
