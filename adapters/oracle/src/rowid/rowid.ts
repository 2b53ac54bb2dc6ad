/**
 * Oracle's extended ROWID, as `ROWIDTOCHAR` and the driver show it: 18 base-64 digits
 * `OOOOOOFFFBBBBBBRRR` — data object number (6 digits), tablespace-relative file number (3), block
 * number in that file (6), row slot in the block (3) — over the alphabet `A–Z a–z 0–9 + /`
 * (Oracle Database Concepts, "Rowid Format"; DBMS_ROWID in the PL/SQL Packages and Types Reference).
 */
export interface RowidParts {
  readonly objectId: number;
  readonly file: number;
  readonly block: number;
  readonly row: number;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Digit value by character code; -1 for a character outside the alphabet. */
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT[ALPHABET.charCodeAt(i)] = i;

const WIDTHS = [6, 3, 6, 3] as const;

function digits(value: number, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[v % 64] + out;
    v = Math.floor(v / 64);
  }
  if (v !== 0) throw new RangeError(`ROWID part ${value} does not fit in ${width} base-64 digits`);
  return out;
}

/** The extended ROWID text of a row address (what `DBMS_ROWID.ROWID_CREATE(1, …)` returns). */
export function encodeRowid(parts: RowidParts): string {
  return digits(parts.objectId, 6) + digits(parts.file, 3) + digits(parts.block, 6) + digits(parts.row, 3);
}

/** True when `text` is an extended ROWID (18 base-64 digits). */
export function isRowid(text: string): boolean {
  if (text.length !== 18) return false;
  for (let i = 0; i < 18; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || (DIGIT[c] as number) < 0) return false;
  }
  return true;
}

/** The row address an extended ROWID encodes. */
export function decodeRowid(text: string): RowidParts {
  if (!isRowid(text)) throw new Error(`not an extended ROWID: ${JSON.stringify(text)}`);
  const values: number[] = [];
  let at = 0;
  for (const width of WIDTHS) {
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 64 + (DIGIT[text.charCodeAt(at++)] as number);
    values.push(v);
  }
  const [objectId, file, block, row] = values as [number, number, number, number];
  return { objectId, file, block, row };
}

/**
 * Orders ROWIDs as Oracle compares them: by data object, file, block, then row — which, the fields
 * being fixed-width base-64 numbers, is digit-by-digit order of the text. Not the text's own order:
 * the alphabet is not in ASCII order (`'a' > 'Z'` but `'0' < 'A'`, and `'0'` is worth 52).
 */
export function compareRowids(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = DIGIT[a.charCodeAt(i)] ?? -1;
    const y = DIGIT[b.charCodeAt(i)] ?? -1;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}
