import { type TableId, tableName } from '@highwater/core';
import { replicaIdentityProblem } from './replica-identity.js';
import { qualifiedName, quoteIdent } from './sql/identifiers.js';
import type { Queryable } from './sql/queryable.js';

/**
 * Something the server or the adapter's user lacks for change data capture, and the SQL an
 * administrator runs to fix it. `fix` says what `sql` cannot (a restart).
 */
export interface SetupProblem {
  /** What is missing or wrong, and what needs it. */
  readonly what: string;
  /** Statements that fix it, each ending in `;`. */
  readonly sql: readonly string[];
  /** The fix in words, when `sql` alone does not do it. */
  readonly fix?: string;
}

/** `wal_level = logical` and the REPLICATION attribute of the connection's user. */
export async function serverProblems(client: Queryable): Promise<SetupProblem[]> {
  const problems: SetupProblem[] = [];
  const level = await client.query<{ wal_level: string }>('SHOW wal_level');
  const walLevel = level.rows[0]?.wal_level;
  if (walLevel !== 'logical') {
    problems.push({
      what: `wal_level is '${walLevel}', logical replication needs 'logical'`,
      sql: ['ALTER SYSTEM SET wal_level = logical;'],
      fix: 'then restart the server',
    });
  }
  const role = await client.query<{ ok: string; name: string }>(
    'SELECT (rolreplication OR rolsuper) AS ok, rolname AS name FROM pg_roles WHERE rolname = current_user',
  );
  const row = role.rows[0];
  if (row?.ok !== 't') {
    const name = row?.name ?? 'current_user';
    problems.push({
      what: `user ${name} lacks the REPLICATION attribute needed to read the change log`,
      sql: [`ALTER ROLE ${quoteIdent(name)} WITH REPLICATION;`],
    });
  }
  return problems;
}

/** How the adapter will find or make its publication. */
export interface PublicationPlan {
  readonly publicationName: string;
  /** The adapter creates the publication and adds tables to it (the default). */
  readonly createPublication: boolean;
}

interface TableRights {
  readonly schema: string;
  readonly name: string;
  readonly usage: string;
  readonly select: string;
  readonly owns: string;
  readonly owner: string;
  readonly published: string;
  readonly keyed: string;
}

/**
 * What the user lacks for these tables: `USAGE` on their schemas, `SELECT` on them, ownership of
 * each table the adapter would add to its publication (only an owner may), `CREATE` on the
 * database when the adapter would create the publication, and a replica identity for tables
 * without a primary key. All at once, with the statements that fix them.
 */
export async function tableProblems(
  client: Queryable,
  tables: readonly TableId[],
  plan: PublicationPlan,
): Promise<SetupProblem[]> {
  const problems: SetupProblem[] = [];
  const user = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? 'current_user';
  const publication = (
    await client.query<{ all: string }>('SELECT puballtables AS all FROM pg_publication WHERE pubname = $1', [
      plan.publicationName,
    ])
  ).rows[0];
  if (publication === undefined && plan.createPublication) {
    const create = await client.query<{ ok: string; db: string }>(
      "SELECT has_database_privilege(current_database(), 'CREATE') AS ok, current_database() AS db",
    );
    if (create.rows[0]?.ok !== 't') {
      problems.push({
        what: `CREATE on database ${create.rows[0]?.db}, to create the publication ${plan.publicationName}`,
        sql: [`GRANT CREATE ON DATABASE ${quoteIdent(create.rows[0]?.db ?? '')} TO ${quoteIdent(user)};`],
      });
    }
  }
  const rights: TableRights[] = [];
  for (const id of tables) {
    const found = await client.query<TableRights>(
      `SELECT n.nspname AS schema, c.relname AS name,
              has_schema_privilege(n.oid, 'USAGE') AS usage,
              has_table_privilege(c.oid, 'SELECT') AS select,
              pg_has_role(c.relowner, 'USAGE') AS owns,
              pg_get_userbyid(c.relowner) AS owner,
              EXISTS (SELECT FROM pg_publication_tables t
                       WHERE t.pubname = $2 AND t.schemaname = n.nspname AND t.tablename = c.relname) AS published,
              EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS keyed
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $3`,
      [id.schema ?? 'public', plan.publicationName, id.name],
    );
    const row = found.rows[0];
    if (row !== undefined) rights.push(row);
  }
  const schemas = [...new Set(rights.filter((r) => r.usage !== 't').map((r) => r.schema))];
  if (schemas.length > 0) {
    problems.push({
      what: `USAGE on schema ${schemas.join(', ')}, to see the captured tables`,
      sql: schemas.map((s) => `GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${quoteIdent(user)};`),
    });
  }
  const unreadable = rights.filter((r) => r.select !== 't');
  if (unreadable.length > 0) {
    problems.push({
      what: `SELECT on ${unreadable.map((r) => tableName(r)).join(', ')}, to snapshot the tables`,
      sql: [`GRANT SELECT ON ${unreadable.map((r) => qualifiedName(r)).join(', ')} TO ${quoteIdent(user)};`],
    });
  }
  // ALTER PUBLICATION … ADD TABLE is for the table's owner; a table already published, or a
  // FOR ALL TABLES publication, needs nothing.
  const mustAdd =
    publication?.all === 't'
      ? []
      : rights.filter((r) => r.published !== 't' && r.owns !== 't' && plan.createPublication);
  if (mustAdd.length > 0) {
    problems.push({
      what:
        `ownership of ${mustAdd.map((r) => `${tableName(r)} (owned by ${r.owner})`).join(', ')}: only a table's owner ` +
        `may add it to the publication ${plan.publicationName}. Either make the user the owner, or have the owner ` +
        `create the publication with these tables and set createPublication: false`,
      sql: mustAdd.map((r) => `ALTER TABLE ${qualifiedName(r)} OWNER TO ${quoteIdent(user)};`),
    });
  }
  for (const r of rights) {
    const problem = await replicaIdentityProblem(client, r, []);
    if (problem === null) continue;
    problems.push(
      r.keyed === 't'
        ? { what: problem.replace(/^postgres: /, ''), sql: [`ALTER TABLE ${qualifiedName(r)} REPLICA IDENTITY FULL;`] }
        : {
            // A keyless table a pattern matches is left out with a warning (keylessTables: skip);
            // capturing it takes a chunk key in the pipeline file as well as a replica identity.
            what:
              `${tableName(r)} has no primary key: a pattern leaves it out (keylessTables: skip). To capture it, ` +
              'name its unique columns in source.chunkKeys and give it a replica identity',
            sql: [`ALTER TABLE ${qualifiedName(r)} REPLICA IDENTITY FULL;`],
          },
    );
  }
  return problems;
}
