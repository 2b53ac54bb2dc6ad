import pg from 'pg';

/**
 * node-pg's own conversion of a parameter to the text it sends (`pg.utils.prepareValue`: booleans,
 * numbers, nested arrays as array literals, objects as JSON). The COPY path goes through it so a
 * row loaded with COPY is exactly the row a bound parameter would have stored: one set of type
 * rules (`postgresParam`), two transports.
 */
const prepareValue = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils.prepareValue;

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A parameter value (as `postgresParam` gives it) as one field of COPY's text format: `\N` for
 * NULL, bytes as `\x…` hex, and backslash, newline, carriage return and tab escaped with a
 * backslash (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format").
 */
export function copyField(param: unknown): string {
  if (param === null || param === undefined) return '\\N';
  // What `postgresParam` gives: text already (prepareValue would return it unchanged).
  const text =
    typeof param === 'string'
      ? param
      : param instanceof Uint8Array
        ? `\\x${Buffer.from(param.buffer, param.byteOffset, param.byteLength).toString('hex')}`
        : String(prepareValue(param));
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c] as string) : text;
}

/** One row of COPY's text format: fields separated by tabs, ending in a newline. */
export function copyLine(params: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < params.length; i++) line += (i === 0 ? '' : '\t') + copyField(params[i]);
  return `${line}\n`;
}
