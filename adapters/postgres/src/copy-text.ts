/**
 * COPY … TO STDOUT text format: one row per line, columns separated by tabs, `\N` for NULL, and
 * backslash escapes (`\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\v`, octal `\123`, hex `\x7f`) inside
 * values. Each field unescaped is exactly the type's text output, so the same decoder as the log
 * path applies.
 */

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Unescapes one COPY text field (not `\N`, which the caller turns into null). */
export function unescapeCopyField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) return simple;
    if (e.length > 1 && e[0] === 'x') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return e;
  });
}

/** Splits one COPY text line into raw fields (null for `\N`). */
export function splitCopyLine(line: string): (string | null)[] {
  const fields = line.split('\t');
  const out: (string | null)[] = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    out[i] = f === '\\N' ? null : unescapeCopyField(f);
  }
  return out;
}

/**
 * Turns COPY output chunks (split anywhere, even inside a UTF-8 sequence) into whole lines.
 * A raw newline byte never occurs inside a value (it is escaped), so lines end at `\n`.
 */
export class CopyLineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  /** The complete lines in `chunk` plus what was left over from before. */
  push(chunk: Buffer): string[] {
    const data = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const end = data.lastIndexOf(0x0a);
    if (end < 0) {
      this.rest = data;
      return [];
    }
    this.rest = data.subarray(end + 1);
    return data.toString('utf8', 0, end).split('\n');
  }

  /** Throws if the stream ended inside a line. */
  end(): void {
    if (this.rest.length > 0) throw new Error('COPY output ended inside a row');
  }
}
