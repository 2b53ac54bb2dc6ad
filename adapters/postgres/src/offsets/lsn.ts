/**
 * Log sequence numbers. Postgres prints an LSN as two hexadecimal 32-bit halves, `X/Y`; the
 * replication library prints them with and without zero padding (`16/B374D848`, `0/00000000`), so
 * they are never compared as strings: always parsed to one 64-bit number first.
 *
 * Both functions run for every streamed change (parsing its position, formatting its offset for the
 * event), so they work on plain numbers — no regular expression, one `BigInt` per call — and fall
 * back to `bigint` arithmetic only above 2^53 (8 PiB of WAL).
 */
export type Lsn = bigint;

const TWO_32 = 4294967296;
/** Halves above this make an LSN of 2^53 or more: not exact as a double. */
const MAX_EXACT_HIGH = 0x1fffff;
const MAX_EXACT = 2n ** 53n;
const MAX_LSN = 0xffffffffffffffffn;

/** The value of the hexadecimal digits `text[from, to)` (1 to 8 of them), or -1. */
function hexHalf(text: string, from: number, to: number): number {
  const length = to - from;
  if (length < 1 || length > 8) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    let digit: number;
    if (c >= 48 && c <= 57) digit = c - 48;
    else if (c >= 65 && c <= 70) digit = c - 55;
    else if (c >= 97 && c <= 102) digit = c - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Parses `X/Y` (either format) to a 64-bit number; throws on anything else. */
export function parseLsn(text: string): Lsn {
  const slash = text.indexOf('/');
  const high = slash < 0 ? -1 : hexHalf(text, 0, slash);
  const low = high < 0 ? -1 : hexHalf(text, slash + 1, text.length);
  if (low < 0) throw new Error(`not a Postgres LSN: ${JSON.stringify(text)}`);
  return lsnOf(high, low);
}

/** The LSN of two unsigned 32-bit halves (as the replication protocol sends it). */
export function lsnOf(high: number, low: number): Lsn {
  if (high <= MAX_EXACT_HIGH) return BigInt(high * TWO_32 + low);
  return (BigInt(high) << 32n) | BigInt(low);
}

/** True when `text` is an LSN in either format. */
export function isLsn(text: string): boolean {
  const slash = text.indexOf('/');
  return slash >= 0 && hexHalf(text, 0, slash) >= 0 && hexHalf(text, slash + 1, text.length) >= 0;
}

/** Upper-case hexadecimal of every byte: padded to two digits, and not. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).toUpperCase().padStart(2, '0'),
);
const LEAD_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase());

/** Upper-case hexadecimal of a 32-bit unsigned number, no padding (`toString(16).toUpperCase()`, faster). */
function hex32(v: number): string {
  if (v < 0x100) return LEAD_HEX[v] as string;
  const b0 = BYTE_HEX[v & 0xff] as string;
  const b1 = (v >>> 8) & 0xff;
  if (v < 0x10000) return (LEAD_HEX[b1] as string) + b0;
  const b2 = (v >>> 16) & 0xff;
  if (v < 0x1000000) return (LEAD_HEX[b2] as string) + (BYTE_HEX[b1] as string) + b0;
  return (LEAD_HEX[v >>> 24] as string) + (BYTE_HEX[b2] as string) + (BYTE_HEX[b1] as string) + b0;
}

/** Formats an LSN as Postgres does (`16/B374D848`: upper-case, no padding). */
export function formatLsn(lsn: Lsn): string {
  if (lsn >= 0n && lsn < MAX_EXACT) {
    const n = Number(lsn);
    const low = n % TWO_32;
    return `${hex32((n - low) / TWO_32)}/${hex32(low)}`;
  }
  if (lsn < 0n || lsn > MAX_LSN) throw new RangeError(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
