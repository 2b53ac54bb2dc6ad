/**
 * Log sequence numbers. Postgres prints an LSN as two hexadecimal 32-bit halves, `X/Y`; the
 * replication library prints them with and without zero padding (`16/B374D848`, `0/00000000`), so
 * they are never compared as strings: always parsed to one 64-bit number first.
 */
export type Lsn = bigint;

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses `X/Y` (either format) to a 64-bit number; throws on anything else. */
export function parseLsn(text: string): Lsn {
  const match = LSN_PATTERN.exec(text);
  if (match === null) throw new Error(`not a Postgres LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** True when `text` is an LSN in either format. */
export function isLsn(text: string): boolean {
  return LSN_PATTERN.test(text);
}

/** Formats an LSN as Postgres does (`16/B374D848`: upper-case, no padding). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new RangeError(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
