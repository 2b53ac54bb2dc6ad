import { RedoSyntaxError, Tokenizer } from './tokenizer.js';

/**
 * A value as SQL_REDO writes it, before typing: `NULL`, a literal (LogMiner quotes numbers too:
 * `'42'`), or a function call (`TO_DATE('…', '…')`, `HEXTORAW('…')`, `UNISTR('…')`, `EMPTY_CLOB()`).
 */
export type RedoValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly RedoValue[] };

/** One reconstructed DML statement. Column names are as Oracle stores them (case kept). */
export interface RedoStatement {
  readonly op: 'insert' | 'update' | 'delete';
  readonly owner: string;
  readonly table: string;
  /** Insert: the values; update: the `SET` list. Empty for deletes. */
  readonly values: ReadonlyMap<string, RedoValue>;
  /** Update and delete: the `WHERE` before-image (`"C" IS NULL` gives a null value). Empty for inserts. */
  readonly where: ReadonlyMap<string, RedoValue>;
}

const NULL_VALUE: RedoValue = { kind: 'null' };

function value(t: Tokenizer): RedoValue {
  const token = t.next();
  let v: RedoValue;
  if (token.kind === 'string') v = { kind: 'literal', text: token.text };
  else if (token.kind === 'number') v = { kind: 'literal', text: token.text };
  else if (token.kind === 'word' && token.text === 'NULL') v = NULL_VALUE;
  else if (token.kind === 'word') {
    t.expect('punct', '(');
    const args: RedoValue[] = [];
    if (!t.accept('punct', ')')) {
      do args.push(value(t));
      while (t.accept('punct', ','));
      t.expect('punct', ')');
    }
    v = { kind: 'call', name: token.text, args };
  } else throw new RedoSyntaxError(`expected a value, found ${JSON.stringify(token.text)}`, t.sql, token.at);
  // `'abc' || 'def'`: LogMiner joins pieces of long literals this way.
  while (t.accept('punct', '||')) {
    const right = value(t);
    if (v.kind !== 'literal' || right.kind !== 'literal')
      throw new RedoSyntaxError('|| joins literals only', t.sql, token.at);
    v = { kind: 'literal', text: v.text + right.text };
  }
  return v;
}

function tableName(t: Tokenizer): { owner: string; table: string } {
  const owner = t.expect('ident').text;
  t.expect('punct', '.');
  return { owner, table: t.expect('ident').text };
}

/** `"A" = 'x' and "B" IS NULL and …`, up to the end of the statement. */
function predicates(t: Tokenizer): Map<string, RedoValue> {
  const out = new Map<string, RedoValue>();
  do {
    const name = t.next();
    if (name.kind !== 'ident' && !(name.kind === 'word' && name.text === 'ROWID')) {
      throw new RedoSyntaxError(`expected a column, found ${JSON.stringify(name.text)}`, t.sql, name.at);
    }
    const column = name.text;
    if (t.accept('word', 'IS')) {
      t.expect('word', 'NULL');
      out.set(column, NULL_VALUE);
    } else {
      t.expect('punct', '=');
      out.set(column, value(t));
    }
  } while (t.accept('word', 'AND'));
  return out;
}

function end(t: Tokenizer): void {
  t.accept('punct', ';');
  const rest = t.next();
  if (rest.kind !== 'end')
    throw new RedoSyntaxError(`unexpected ${JSON.stringify(rest.text)} after the statement`, t.sql, rest.at);
}

const EMPTY: ReadonlyMap<string, RedoValue> = new Map();

/**
 * Parses one SQL_REDO statement of a DML row (operation codes 1, 2, 3), whole — continuation rows
 * (`CSF = 1`) joined first. Written for statements mined with `NO_ROWID_IN_STMT` (no `ROWID`
 * predicate); a `ROWID` predicate, if present anyway, is ignored.
 */
export function parseRedo(sql: string): RedoStatement {
  const t = new Tokenizer(sql);
  const verb = t.expect('word');
  if (verb.text === 'INSERT') {
    t.expect('word', 'INTO');
    const { owner, table } = tableName(t);
    t.expect('punct', '(');
    const columns: string[] = [];
    do columns.push(t.expect('ident').text);
    while (t.accept('punct', ','));
    t.expect('punct', ')');
    t.expect('word', 'VALUES');
    t.expect('punct', '(');
    const values = new Map<string, RedoValue>();
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) t.expect('punct', ',');
      values.set(columns[i] as string, value(t));
    }
    t.expect('punct', ')');
    end(t);
    return { op: 'insert', owner, table, values, where: EMPTY };
  }
  if (verb.text === 'UPDATE') {
    const { owner, table } = tableName(t);
    t.expect('word', 'SET');
    const values = new Map<string, RedoValue>();
    do {
      const column = t.expect('ident').text;
      t.expect('punct', '=');
      values.set(column, value(t));
    } while (t.accept('punct', ','));
    const where = t.accept('word', 'WHERE') ? withoutRowid(predicates(t)) : new Map<string, RedoValue>();
    end(t);
    return { op: 'update', owner, table, values, where };
  }
  if (verb.text === 'DELETE') {
    t.expect('word', 'FROM');
    const { owner, table } = tableName(t);
    t.expect('word', 'WHERE');
    const where = withoutRowid(predicates(t));
    end(t);
    return { op: 'delete', owner, table, values: EMPTY, where };
  }
  throw new RedoSyntaxError(`not a DML statement (${verb.text})`, sql, verb.at);
}

function withoutRowid(where: Map<string, RedoValue>): Map<string, RedoValue> {
  where.delete('ROWID');
  return where;
}
