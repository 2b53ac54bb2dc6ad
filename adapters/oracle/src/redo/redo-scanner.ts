import type { Value } from '@highwater/core';
import { type ColumnEntry, LOB_NOT_LOGGED, type RedoRowDecoder, typedCall, typedLiteral } from './redo-values.js';

/**
 * The SQL_REDO parser: one pass over the statement's character codes, no token objects, each value
 * typed through its column's definition as soon as it is read. The grammar is what LogMiner writes
 * for DML (Oracle Database Utilities, "Using LogMiner to Analyze Redo Log Files", "Formatting
 * Reconstructed SQL Statements"):
 *
 *   insert into "O"."T"("A","B") values (v,v);
 *   update "O"."T" set "A" = v, "B" = v where "A" = v and "B" IS NULL [and ROWID = '…'];
 *   delete from "O"."T" where "A" = v and … ;
 *
 * A value is `NULL`, a quoted literal (`''` inside; LogMiner quotes numbers too), a bare number,
 * literals joined by `||`, or a call of a known function on literals (`TO_DATE`, `TO_TIMESTAMP`,
 * `TO_TIMESTAMP_TZ`, `HEXTORAW`, `UNISTR`, `TO_YMINTERVAL`, `TO_DSINTERVAL`, `EMPTY_CLOB()`, …).
 * Keywords are matched case-insensitively; identifiers keep their case.
 */
export interface DecodedRedo {
  readonly op: 'insert' | 'update' | 'delete';
  readonly owner: string;
  readonly table: string;
  /** Insert: the values; update: the SET list; delete: empty. Typed. */
  readonly values: Record<string, Value>;
  /** Update and delete: the WHERE before-image (`IS NULL` gives null), typed; insert: null. No ROWID. */
  readonly before: Record<string, Value> | null;
  /** LOB columns whose contents SQL_REDO did not carry (`EMPTY_CLOB()`): absent from the rows. */
  readonly unlogged: string[];
}

export class RedoSyntaxError extends Error {
  constructor(
    message: string,
    readonly sql: string,
    readonly at: number,
  ) {
    super(`${message} at offset ${at} of SQL_REDO ${JSON.stringify(sql.length > 200 ? `${sql.slice(0, 200)}…` : sql)}`);
  }
}

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const DQUOTE = 34;
const QUOTE = 39;
const LPAREN = 40;
const RPAREN = 41;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SEMI = 59;
const EQUALS = 61;
const BAR = 124;

const isWordChar = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 35;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Parses one DML statement's SQL_REDO (continuation rows joined) and types its values through `decoder`. */
export function decodeRedo(sql: string, decoder: RedoRowDecoder): DecodedRedo {
  return new Scanner(sql, decoder).statement();
}

class Scanner {
  private pos = 0;
  private readonly unlogged: string[] = [];
  /** Where in the table's column order the next column name is expected (`column`). */
  private nextColumn = 0;

  constructor(
    private readonly sql: string,
    private readonly decoder: RedoRowDecoder,
  ) {}

  statement(): DecodedRedo {
    this.space();
    const at = this.pos;
    if (this.keyword('INSERT')) return this.insert();
    if (this.keyword('UPDATE')) return this.update();
    if (this.keyword('DELETE')) return this.delete();
    throw this.error(`not a DML statement (${this.sql.slice(at, at + 20)})`, at);
  }

  private insert(): DecodedRedo {
    this.expectKeyword('INTO');
    const owner = this.ident();
    this.expect(DOT, '.');
    const table = this.ident();
    this.expect(LPAREN, '(');
    this.nextColumn = 0;
    const columns: ColumnEntry[] = [];
    do columns.push(this.column());
    while (this.accept(COMMA));
    this.expect(RPAREN, ')');
    this.expectKeyword('VALUES');
    this.expect(LPAREN, '(');
    const values: Record<string, Value> = {};
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) this.expect(COMMA, ',');
      this.value(columns[i] as ColumnEntry, values);
    }
    this.expect(RPAREN, ')');
    this.end();
    return { op: 'insert', owner, table, values, before: null, unlogged: this.unlogged };
  }

  private update(): DecodedRedo {
    const owner = this.ident();
    this.expect(DOT, '.');
    const table = this.ident();
    this.expectKeyword('SET');
    const values: Record<string, Value> = {};
    do {
      const column = this.column();
      this.expect(EQUALS, '=');
      this.value(column, values);
    } while (this.accept(COMMA));
    const before = this.keyword('WHERE') ? this.predicates() : null;
    this.end();
    return { op: 'update', owner, table, values, before, unlogged: this.unlogged };
  }

  private delete(): DecodedRedo {
    this.expectKeyword('FROM');
    const owner = this.ident();
    this.expect(DOT, '.');
    const table = this.ident();
    this.expectKeyword('WHERE');
    const before = this.predicates();
    this.end();
    return { op: 'delete', owner, table, values: {}, before, unlogged: this.unlogged };
  }

  /** `"A" = v and "B" IS NULL and …`; a `ROWID = '…'` predicate (without NO_ROWID_IN_STMT) is skipped. */
  private predicates(): Record<string, Value> {
    const row: Record<string, Value> = {};
    this.nextColumn = 0;
    do {
      this.space();
      if (this.sql.charCodeAt(this.pos) !== DQUOTE && this.keyword('ROWID')) {
        this.expect(EQUALS, '=');
        this.skipLiteral();
        continue;
      }
      const column = this.column();
      if (this.keyword('IS')) {
        this.expectKeyword('NULL');
        row[column.name] = null;
      } else {
        this.expect(EQUALS, '=');
        this.value(column, row);
      }
    } while (this.keyword('AND'));
    return row;
  }

  /** Reads one value for `column` into `row` (or into `unlogged` when SQL_REDO does not carry it). */
  private value(column: ColumnEntry, row: Record<string, Value>): void {
    this.space();
    const s = this.sql;
    const c = s.charCodeAt(this.pos);
    let text: string;
    if (c === QUOTE) text = this.literal();
    else if (isDigit(c) || ((c === MINUS || c === DOT) && isDigit(s.charCodeAt(this.pos + 1)))) text = this.number();
    else {
      const at = this.pos;
      const name = this.word();
      if (name === '') throw this.error('expected a value', at);
      if (name === 'NULL') {
        row[column.name] = null;
        return;
      }
      const value = typedCall(column, name, this.arguments(name));
      if (value === LOB_NOT_LOGGED) this.unlogged.push(column.name);
      else row[column.name] = value;
      return;
    }
    // `'abc' || 'def'`: LogMiner joins pieces of long literals this way.
    while (this.concat()) {
      this.space();
      if (s.charCodeAt(this.pos) !== QUOTE) throw this.error('|| joins literals only', this.pos);
      text += this.literal();
    }
    row[column.name] = typedLiteral(column, text);
  }

  /** `(lit, lit, …)` after a function name: literal texts, NULL as null. */
  private arguments(name: string): (string | null)[] {
    this.expect(LPAREN, `( after ${name}`);
    // The common call, one literal: no concatenation, no second argument.
    if (this.sql.charCodeAt(this.pos) === QUOTE) {
      const text = this.literal();
      if (this.sql.charCodeAt(this.pos) === RPAREN) {
        this.pos++;
        return [text];
      }
      return this.moreArguments(name, [text], true);
    }
    return this.moreArguments(name, [], false);
  }

  /** The rest of an argument list; `pending`: its last element is a literal that `||` may continue. */
  private moreArguments(name: string, args: (string | null)[], pending: boolean): (string | null)[] {
    if (!pending && this.accept(RPAREN)) return args;
    let continuing = pending;
    do {
      this.space();
      const c = this.sql.charCodeAt(this.pos);
      if (continuing || c === QUOTE) {
        let text = continuing ? (args.pop() as string) : this.literal();
        continuing = false;
        while (this.concat()) {
          this.space();
          text += this.literal();
        }
        args.push(text);
      } else if (isDigit(c) || c === MINUS || c === DOT) args.push(this.number());
      else if (this.keyword('NULL')) args.push(null);
      else throw this.error(`unsupported argument of ${name}`, this.pos);
    } while (this.accept(COMMA));
    this.expect(RPAREN, ')');
    return args;
  }

  private concat(): boolean {
    this.space();
    if (this.sql.charCodeAt(this.pos) === BAR && this.sql.charCodeAt(this.pos + 1) === BAR) {
      this.pos += 2;
      return true;
    }
    return false;
  }

  /** A `'…'` literal at the cursor, `''` read as one quote. */
  private literal(): string {
    return this.quoted(QUOTE, "'", 'string');
  }

  /** The quoted token at the cursor, the quote doubled inside standing for itself. */
  private quoted(code: number, quote: string, what: string): string {
    const s = this.sql;
    const start = this.pos;
    let from = start + 1;
    let text = '';
    for (;;) {
      const close = s.indexOf(quote, from);
      if (close < 0) throw this.error(`unterminated ${what}`, start);
      if (s.charCodeAt(close + 1) === code) {
        text += s.slice(from, close + 1);
        from = close + 2;
      } else {
        this.pos = close + 1;
        return text === '' ? s.slice(from, close) : text + s.slice(from, close);
      }
    }
  }

  private skipLiteral(): void {
    this.space();
    if (this.sql.charCodeAt(this.pos) !== QUOTE) throw this.error('expected a literal', this.pos);
    this.literal();
  }

  /** A bare number (`-1.5`, `1E+40`). */
  private number(): string {
    const s = this.sql;
    const start = this.pos;
    let i = start + 1;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!(isDigit(c) || c === DOT || c === 69 || c === 101 || c === 43 || c === MINUS)) break;
    }
    this.pos = i;
    return s.slice(start, i);
  }

  /** A `"…"` identifier, `""` read as one quote. */
  private ident(): string {
    this.space();
    if (this.sql.charCodeAt(this.pos) !== DQUOTE) throw this.error('expected a quoted identifier', this.pos);
    return this.quoted(DQUOTE, '"', 'identifier');
  }

  /**
   * The quoted column name at the cursor. LogMiner lists columns in the table's order, so the column
   * after the previous one is tried first, compared in place: no slice, no map lookup.
   */
  private column(): ColumnEntry {
    this.space();
    const s = this.sql;
    const at = this.pos;
    const guess = this.decoder.entries[this.nextColumn];
    if (guess !== undefined && s.charCodeAt(at) === DQUOTE) {
      const end = at + 1 + guess.name.length;
      if (s.charCodeAt(end) === DQUOTE && s.charCodeAt(end + 1) !== DQUOTE && s.startsWith(guess.name, at + 1)) {
        this.pos = end + 1;
        this.nextColumn++;
        return guess;
      }
    }
    const entry = this.decoder.entry(this.ident());
    this.nextColumn = this.decoder.indexOf(entry) + 1;
    return entry;
  }

  /** A bare word, upper-cased ('' when none is at the cursor). */
  private word(): string {
    this.space();
    const s = this.sql;
    const start = this.pos;
    let i = start;
    let lower = false;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isWordChar(c)) break;
      if (c >= 97) lower = true;
    }
    this.pos = i;
    const word = s.slice(start, i);
    return lower ? word.toUpperCase() : word;
  }

  /** Consumes `word` (case-insensitive, whole word) if it is next. */
  private keyword(word: string): boolean {
    this.space();
    const s = this.sql;
    const at = this.pos;
    for (let k = 0; k < word.length; k++) {
      // ASCII letters only: clearing bit 5 upper-cases a lower-case letter.
      const c = s.charCodeAt(at + k);
      if ((c >= 97 && c <= 122 ? c - 32 : c) !== word.charCodeAt(k)) return false;
    }
    if (isWordChar(s.charCodeAt(at + word.length))) return false;
    this.pos = at + word.length;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.keyword(word)) throw this.error(`expected ${word}`, this.pos);
  }

  private accept(code: number): boolean {
    this.space();
    if (this.sql.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }

  private expect(code: number, what: string): void {
    if (!this.accept(code)) throw this.error(`expected ${what}`, this.pos);
  }

  private space(): void {
    const s = this.sql;
    let i = this.pos;
    if (s.charCodeAt(i) > SPACE) return; // the common case: already on a token
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === SPACE || c === TAB || c === LF || c === CR) i++;
      else break;
    }
    this.pos = i;
  }

  private end(): void {
    this.accept(SEMI);
    this.space();
    if (this.pos < this.sql.length) throw this.error('unexpected text after the statement', this.pos);
  }

  private error(message: string, at: number): RedoSyntaxError {
    const found = at < this.sql.length ? ` (found ${JSON.stringify(this.sql.slice(at, at + 12))})` : ' (found the end)';
    return new RedoSyntaxError(message + found, this.sql, at);
  }
}
