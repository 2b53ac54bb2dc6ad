import type { TableId } from '@highwater/core';

/**
 * One subject token for a name (a schema, a table, a pipeline). NATS subject tokens cannot hold `.`,
 * `*`, `>` or white space; those (and `%`, so the encoding stays reversible) become `%XX` of their
 * UTF-8 bytes, so two different names never share a token.
 */
export function subjectToken(name: string): string {
  if (name === '') return '%';
  return name.replace(/[.*>%\s\p{Cc}]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * The subject of a table's events: `<prefix>.<schema>.<table>`, the schema being the source's schema
 * (Postgres, Oracle) or database (MySQL, MongoDB), `_` when the source has neither.
 */
export function tableSubject(prefix: string, table: TableId): string {
  return `${prefix}.${subjectToken(table.schema ?? table.database ?? '_')}.${subjectToken(table.name)}`;
}

/**
 * The subject of a pipeline's commit markers: `<prefix>._highwater.<pipeline>.commit`. Four tokens
 * after the prefix where table subjects have two, so `<prefix>.*.*` selects exactly the tables'
 * events and no schema or table name can collide with it.
 */
export function commitSubject(prefix: string, pipeline: string): string {
  return `${prefix}._highwater.${subjectToken(pipeline)}.commit`;
}

/** True when `subject` matches `filter` (NATS wildcards: `*` one token, `>` one or more trailing tokens). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const token = f[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return f.length === s.length;
}

/** Whether a subject prefix is usable: dot-separated tokens, none empty, no wildcard or white space. */
export function isValidSubjectPrefix(prefix: string): boolean {
  return prefix.split('.').every((token) => token !== '' && !/[*>\s]/.test(token));
}
