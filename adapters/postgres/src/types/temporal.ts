/**
 * Postgres's ISO date/time output (DateStyle ISO) turned into Highwater's forms without ever going
 * through a JS `Date`: the text is rearranged, so microseconds and years beyond JS's range survive.
 * Fractions are kept as Postgres prints them (trailing zeros trimmed, none when zero).
 *
 * BC dates (`0044-03-15 BC`) become astronomical years with a sign (`-0043-03-15`); `infinity`
 * and `-infinity` stay as they are.
 */

/** Rewrites a `YYYY-MM-DD` date that may end in ` BC` to an ISO date with a signed astronomical year. */
function isoDate(date: string, bc: boolean): string {
  if (!bc) return date;
  const dash = date.indexOf('-', 1);
  const year = 1 - Number(date.slice(0, dash));
  const sign = year < 0 ? '-' : '';
  return `${sign}${String(Math.abs(year)).padStart(4, '0')}${date.slice(dash)}`;
}

function splitBc(text: string): [string, boolean] {
  return text.endsWith(' BC') ? [text.slice(0, -3), true] : [text, false];
}

export function decodeDate(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const [date, bc] = splitBc(text);
  return isoDate(date, bc);
}

/** `2024-02-29 13:45:00.123456` → `2024-02-29T13:45:00.123456`. */
export function decodeTimestamp(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const [body, bc] = splitBc(text);
  const space = body.indexOf(' ');
  return `${isoDate(body.slice(0, space), bc)}T${body.slice(space + 1)}`;
}

const ZONED = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/;

/**
 * `2024-02-29 13:45:00.123456+00` → `2024-02-29T13:45:00.123456Z`. Connections run with
 * `TimeZone=UTC`, so the offset is normally `+00`; any other offset is applied with integer
 * arithmetic on the whole seconds (the fraction is carried over untouched).
 */
export function decodeTimestamptz(text: string): string {
  // Fast path: the session runs in UTC, a 4-digit year and no era: rearrange in place.
  if (text.charCodeAt(10) === 32 && text.endsWith('+00') && !text.endsWith(' BC+00')) {
    return `${text.slice(0, 10)}T${text.slice(11, -3)}Z`;
  }
  if (text === 'infinity' || text === '-infinity') return text;
  const [body, bc] = splitBc(text);
  const m = ZONED.exec(body);
  if (m === null) throw new Error(`unexpected timestamptz text: ${JSON.stringify(text)}`);
  const fraction = m[7] ?? '';
  const offsetSeconds = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  if (offsetSeconds === 0) {
    return `${isoDate(`${m[1]}-${m[2]}-${m[3]}`, bc)}T${m[4]}:${m[5]}:${m[6]}${fraction}Z`;
  }
  let year = Number(m[1]);
  if (bc) year = 1 - year;
  const utc = new Date(0);
  utc.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  utc.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]) - offsetSeconds, 0);
  const y = utc.getUTCFullYear();
  const yearText = `${y < 0 ? '-' : ''}${String(Math.abs(y)).padStart(4, '0')}`;
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${yearText}-${p(utc.getUTCMonth() + 1)}-${p(utc.getUTCDate())}T` +
    `${p(utc.getUTCHours())}:${p(utc.getUTCMinutes())}:${p(utc.getUTCSeconds())}${fraction}Z`
  );
}
