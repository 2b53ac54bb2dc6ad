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

/**
 * Turns COPY output chunks (split anywhere, even inside a UTF-8 sequence) into text holding only
 * whole lines, each ending in `\n` — one string per chunk, for a parser that walks it field by
 * field ({@link CopyFieldScanner}) instead of splitting it into line and field arrays. Only the
 * piece of a line left over from the previous chunk is copied.
 */
export class CopyTextChunks {
  private rest: Buffer | null = null;

  /** The complete lines now available (`''` when none). */
  push(chunk: Buffer): string {
    let text = '';
    this.pushEach(chunk, (lines) => {
      text += lines;
    });
    return text;
  }

  /**
   * The complete lines now available, in up to two pieces: the line the previous chunk left
   * unfinished, then the rest. Apart, they are never joined into one string that a reader would
   * then copy whole to read it.
   */
  pushEach(chunk: Buffer, lines: (text: string) => void): void {
    let data = chunk;
    if (this.rest !== null) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      const head = Buffer.concat([this.rest, chunk.subarray(0, nl + 1)]).toString('utf8');
      this.rest = null;
      data = chunk.subarray(nl + 1);
      lines(head);
    }
    const end = data.lastIndexOf(0x0a);
    if (end < 0) {
      if (data.length > 0) this.rest = Buffer.from(data);
      return;
    }
    if (end + 1 < data.length) this.rest = Buffer.from(data.subarray(end + 1));
    lines(data.toString('utf8', 0, end + 1));
  }

  /** Throws if the stream ended inside a line. */
  end(): void {
    if (this.rest !== null && this.rest.length > 0) throw new Error('COPY output ended inside a row');
  }
}

/** Backslash, and `N` (a field of exactly `\N` is NULL). */
const BACKSLASH = 92;
const UPPER_N = 78;

/**
 * Walks text of whole COPY lines ({@link CopyTextChunks}) field by field. Per field it tells
 * whether it is NULL and whether it needs unescaping, so plain fields are decoded straight from
 * the text without intermediate strings or arrays.
 */
export class CopyFieldScanner {
  text = '';
  /** Start of the current field, and its end (a tab or the newline). */
  start = 0;
  end = 0;
  private lineEnd = -1;
  private nextBackslash = -1;

  reset(text: string): void {
    this.text = text;
    this.start = 0;
    this.end = 0;
    this.lineEnd = -1;
    this.nextBackslash = text.indexOf('\\');
    if (this.nextBackslash < 0) this.nextBackslash = text.length;
  }

  /** True when another line starts at the current position. */
  hasLine(): boolean {
    return this.start < this.text.length;
  }

  /** Moves to field `i` of `width` of the current line (fields are visited in order, from 0). */
  field(i: number, width: number): void {
    const text = this.text;
    if (i === 0) {
      this.lineEnd = text.indexOf('\n', this.start);
      if (this.lineEnd < 0) throw new Error('COPY text without a final newline');
    }
    if (i === width - 1) {
      const tab = text.indexOf('\t', this.start);
      if (tab >= 0 && tab < this.lineEnd) throw new Error(`COPY line with more than ${width} fields`);
      this.end = this.lineEnd;
    } else {
      const tab = text.indexOf('\t', this.start);
      if (tab < 0 || tab > this.lineEnd) throw new Error(`COPY line with fewer than ${width} fields`);
      this.end = tab;
    }
  }

  /** The current field is `\N`. */
  isNull(): boolean {
    return (
      this.end - this.start === 2 &&
      this.text.charCodeAt(this.start) === BACKSLASH &&
      this.text.charCodeAt(this.start + 1) === UPPER_N
    );
  }

  /** The current field holds a backslash escape. */
  isEscaped(): boolean {
    if (this.nextBackslash < this.start) {
      this.nextBackslash = this.text.indexOf('\\', this.start);
      if (this.nextBackslash < 0) this.nextBackslash = this.text.length;
    }
    return this.nextBackslash < this.end;
  }

  /** The current field, unescaped. */
  value(): string {
    const raw = this.text.slice(this.start, this.end);
    return this.isEscaped() ? unescapeCopyField(raw) : raw;
  }

  /** Steps past the current field (past the line after its last field). */
  next(): void {
    this.start = this.end + 1;
  }
}
