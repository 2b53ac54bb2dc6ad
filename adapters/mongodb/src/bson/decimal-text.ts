/**
 * Decimal128 as an exact plain decimal string (`'-0.0000000001'`, `'1500'`), the form Highwater uses for
 * decimals. The driver prints Decimal128 in the IEEE 754 scientific form when the exponent is large
 * (`'-1E-10'`, `'1.50E+3'`); the value is the same, only written out. `NaN`, `Infinity` and
 * `-Infinity` stay as they are.
 */
export function plainDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$/i.exec(text);
  if (match === null) return text;
  const [, sign = '', whole = '', fraction = '', exponentText] = match;
  if (exponentText === undefined) return text;
  const digits = whole + fraction;
  // Position of the decimal point within `digits` after applying the exponent.
  const point = whole.length + Number(exponentText);
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.replace(/^0+(?=\d)/, '');
  return sign + out;
}
