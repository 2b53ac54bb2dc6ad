import type { LoadedPipeline } from '../../pipeline/load-pipeline.js';
import type { ConnectionConfig } from '../../pipeline/pipeline-schema.js';
import { redact } from '../../pipeline/redact.js';

/** The source in words, without secrets: `postgres at db:5432/shop as cdc, tables shop.* (startup initial)`. */
export function describeSource(pipeline: LoadedPipeline): string {
  const { source } = pipeline.config;
  const exclude = source.tables.exclude.length === 0 ? '' : ` except ${source.tables.exclude.join(', ')}`;
  const startup = typeof source.startup === 'string' ? source.startup : Object.keys(source.startup)[0];
  return redact(
    `${source.adapter} at ${describeConnection(source.connection)}, tables ${source.tables.include.join(', ')}${exclude} (startup ${startup})`,
    pipeline.secrets,
  );
}

/** The sink in words, without secrets: `postgres at target:5432/app as writer, schema shop`, `file /srv/out.jsonl (native)`. */
export function describeSink(pipeline: LoadedPipeline): string {
  const { sink } = pipeline.config;
  switch (sink.type) {
    case 'stdout':
      return `stdout (${sink.format})`;
    case 'file':
      return redact(`file ${sink.path} (${sink.format})`, pipeline.secrets);
    case 'postgres':
    case 'mysql':
      return redact(
        `${sink.type} at ${describeConnection(sink.connection)}${sink.schema === undefined ? '' : `, schema ${sink.schema}`}`,
        pipeline.secrets,
      );
    case 'nats': {
      const where = sink.stream === undefined ? '' : `, stream ${sink.stream}`;
      const prefix = sink.subjectPrefix === undefined ? '' : `, subjects ${sink.subjectPrefix}.<schema>.<table>`;
      return redact(`nats at ${describeNatsUrl(sink.url)}${where}${prefix} (${sink.format})`, pipeline.secrets);
    }
  }
}

/** The NATS servers without credentials. */
function describeNatsUrl(url: string): string {
  return url.replace(/\/\/[^@/,]*@/g, '//');
}

/** `host:port/database as user`: never the password, nor a URL's query (it may carry one). */
function describeConnection(connection: ConnectionConfig): string {
  if (typeof connection !== 'string') {
    const port = connection.port === undefined ? '' : `:${connection.port}`;
    return `${connection.host}${port}/${connection.database} as ${connection.user}`;
  }
  try {
    const url = new URL(connection);
    const user = url.username === '' ? '' : ` as ${decodeURIComponent(url.username)}`;
    return `${url.host}${url.pathname === '/' ? '' : url.pathname}${user}`;
  } catch {
    return 'a connection string that is not a URL';
  }
}
