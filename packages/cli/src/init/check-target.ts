import { connectMysql, type SetupProblem } from '@highwater/mysql';
import { connectPostgres } from '@highwater/postgres';

/**
 * Connects to a SQL sink's target as the pipeline will, with the adapters' connection code (whose
 * errors say what to check): a problem when that fails, none when it works. What the target user
 * may create is found by the first write, which names the missing privilege.
 */
export async function checkTarget(kind: 'postgres' | 'mysql', url: URL): Promise<SetupProblem[]> {
  try {
    if (kind === 'postgres') await (await connectPostgres(url.toString(), 'highwater-init')).end();
    else await (await connectMysql(url.toString())).end();
    return [];
  } catch (error) {
    return [{ what: `the target: ${error instanceof Error ? error.message : String(error)}`, sql: [] }];
  }
}
