import { compileTableFilter, type TableId, tableName } from '@highwater/core';
import { connectMysql, privilegeProblems, settingProblems } from '@highwater/mysql';
import { connectPostgres, type SetupProblem, serverProblems, tableProblems } from '@highwater/postgres';
import { defaultSlotName } from '../sources/create-adapter.js';

/** What `highwater init` found on the source: the tables the patterns match, and what is missing. */
export interface SourceCheck {
  readonly tables: readonly string[];
  readonly problems: readonly SetupProblem[];
}

/**
 * Connects to the source as the pipeline will, and asks the adapter's own setup checks what the
 * server and the user lack (the same checks `highwater run` makes when it starts, all at once).
 * A connection failure throws the adapter's typed error.
 */
export async function checkSource(
  adapter: 'postgres' | 'mysql',
  url: URL,
  tables: readonly string[],
  pipelineName: string,
): Promise<SourceCheck> {
  const matches = compileTableFilter({ include: [...tables] });
  return adapter === 'postgres' ? checkPostgres(url, matches, tables, pipelineName) : checkMysql(url, matches, tables);
}

async function checkPostgres(
  url: URL,
  matches: (name: string) => boolean,
  patterns: readonly string[],
  pipelineName: string,
): Promise<SourceCheck> {
  const client = await connectPostgres(url.toString(), 'highwater-init');
  try {
    const listed = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    const ids: TableId[] = listed.rows.filter((r) => matches(tableName(r)));
    const problems = [
      ...(await serverProblems(client)),
      ...noTables(ids, patterns),
      ...(await tableProblems(client, ids, {
        publicationName: defaultSlotName(pipelineName),
        createPublication: true,
      })),
    ];
    return { tables: ids.map((id) => tableName(id)), problems };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkMysql(
  url: URL,
  matches: (name: string) => boolean,
  patterns: readonly string[],
): Promise<SourceCheck> {
  const db = await connectMysql(url.toString());
  try {
    const [rows] = await db.query(
      `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE'
          AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2`,
    );
    const ids = (rows as { schema: string; name: string }[]).filter((r) => matches(tableName(r)));
    // A database the patterns name outright counts even when no table in it is visible: a missing
    // SELECT grant hides them all.
    const named = patterns.map((p) => /^([^.*?/]+)\./.exec(p)?.[1]).filter((d): d is string => d !== undefined);
    const databases = [...new Set([...named, ...ids.map((id) => id.schema)])];
    const problems = [...(await settingProblems(db)), ...(await privilegeProblems(db, databases))];
    if (problems.every((p) => !p.what.startsWith('SELECT'))) problems.push(...noTables(ids, patterns));
    return { tables: ids.map((id) => tableName(id)), problems };
  } finally {
    await db.end().catch(() => undefined);
  }
}

function noTables(ids: readonly TableId[], patterns: readonly string[]): SetupProblem[] {
  if (ids.length > 0) return [];
  return [
    {
      what: `no table matches tables.include (${patterns.join(', ')}) that the user can see: create the tables, or change the patterns in the pipeline file`,
      sql: [],
    },
  ];
}
