/**
 * Tokens of LogMiner's reconstructed SQL (`V$LOGMNR_CONTENTS.SQL_REDO`). The grammar LogMiner writes
 * is small — see "Formatting Reconstructed SQL Statements" in Oracle Database Utilities, "Using
 * LogMiner to Analyze Redo Log Files" (https://docs.oracle.com/en/database/oracle/oracle-database/21/sutil/oracle-logminer-utility.html):
 * double-quoted identifiers (`""` inside), single-quoted literals (`''` inside), bare words
 * (keywords, `NULL`, function names), bare numbers and punctuation.
 */
export type TokenKind = 'ident' | 'string' | 'word' | 'number' | 'punct' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** Identifiers and strings unquoted, words upper-cased, punctuation as written (`||` is one token). */
  readonly text: string;
  /** Offset of the token in the statement (for error messages). */
  readonly at: number;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c === 35;
const isWordPart = (c: number) => isWordStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

export class RedoSyntaxError extends Error {
  constructor(
    message: string,
    readonly sql: string,
    readonly at: number,
  ) {
    super(`${message} at offset ${at} of SQL_REDO ${JSON.stringify(sql.length > 200 ? `${sql.slice(0, 200)}…` : sql)}`);
  }
}

/** A cursor over the tokens of one statement, read one at a time (no token array is built). */
export class Tokenizer {
  private pos = 0;
  private peeked: Token | null = null;

  constructor(readonly sql: string) {}

  peek(): Token {
    if (this.peeked === null) this.peeked = this.scan();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = null;
    return t;
  }

  /** Consumes the next token, which must be of `kind` (and spell `text`, case-insensitively for words). */
  expect(kind: TokenKind, text?: string): Token {
    const t = this.next();
    if (t.kind !== kind || (text !== undefined && t.text !== text)) {
      throw new RedoSyntaxError(`expected ${text ?? kind}, found ${t.kind} ${JSON.stringify(t.text)}`, this.sql, t.at);
    }
    return t;
  }

  /** Consumes the next token if it is `kind`/`text`. */
  accept(kind: TokenKind, text: string): boolean {
    const t = this.peek();
    if (t.kind === kind && t.text === text) {
      this.peeked = null;
      return true;
    }
    return false;
  }

  private scan(): Token {
    const s = this.sql;
    let i = this.pos;
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    if (i >= s.length) {
      this.pos = i;
      return { kind: 'end', text: '', at: i };
    }
    const start = i;
    const c = s.charCodeAt(i);
    if (c === 34 || c === 39) return this.quoted(start, c === 34 ? 'ident' : 'string', c === 34 ? '"' : "'");
    if (isWordStart(c)) {
      i++;
      while (i < s.length && isWordPart(s.charCodeAt(i))) i++;
      this.pos = i;
      return { kind: 'word', text: s.slice(start, i).toUpperCase(), at: start };
    }
    if (isDigit(c) || ((c === 45 || c === 46) && isDigit(s.charCodeAt(i + 1)))) {
      i++;
      while (i < s.length && /[0-9.eE+-]/.test(s[i] as string)) i++;
      this.pos = i;
      return { kind: 'number', text: s.slice(start, i), at: start };
    }
    if (c === 124 && s.charCodeAt(i + 1) === 124) {
      this.pos = i + 2;
      return { kind: 'punct', text: '||', at: start };
    }
    if ('(),.=;'.includes(s[i] as string)) {
      this.pos = i + 1;
      return { kind: 'punct', text: s[i] as string, at: start };
    }
    throw new RedoSyntaxError(`unexpected character ${JSON.stringify(s[i])}`, s, i);
  }

  /** A quoted token; the quote character doubled inside stands for itself. */
  private quoted(start: number, kind: 'ident' | 'string', quote: string): Token {
    const s = this.sql;
    let i = start + 1;
    let text = '';
    for (;;) {
      const close = s.indexOf(quote, i);
      if (close < 0) throw new RedoSyntaxError(`unterminated ${kind === 'ident' ? 'identifier' : 'string'}`, s, start);
      text += s.slice(i, close);
      if (s[close + 1] === quote) {
        text += quote;
        i = close + 2;
      } else {
        this.pos = close + 1;
        return { kind, text, at: start };
      }
    }
  }
}
