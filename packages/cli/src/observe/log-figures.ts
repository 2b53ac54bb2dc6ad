/**
 * An adapter's log reader figures (`SourceMetrics.log`) are numbers, so that they can be Prometheus
 * gauges; the unit is in the name (`…Bytes`, `…Lsn`). What people read — progress lines, the
 * status page, `/api/status` — shows a log position the way its database prints it instead.
 */

/** A log sequence number as Postgres prints it: `0/16B3748` (high and low 32 bits, in hex). */
export function formatLsn(n: number): string {
  const high = Math.floor(n / 2 ** 32);
  return `${high.toString(16).toUpperCase()}/${(n - high * 2 ** 32).toString(16).toUpperCase()}`;
}

/** The figures for reading: positions (`…Lsn`) as text, every other figure as it is. */
export function readableLogFigures(log: Readonly<Record<string, number>>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [key, value] of Object.entries(log)) out[key] = /Lsn$/.test(key) ? formatLsn(value) : value;
  return out;
}
