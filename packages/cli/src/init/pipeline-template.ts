import { stringify } from 'yaml';
import { type InitAnswers, SOURCE_PASSWORD_VAR, TARGET_PASSWORD_VAR } from './answers.js';

/**
 * The pipeline file `highwater init` writes: the chosen source and sink with a comment on every
 * field, and the optional fields commented out with their defaults. Passwords are never written:
 * the file takes them from environment variables.
 */
export function pipelineTemplate(answers: InitAnswers, sourceUrl: URL, sinkUrl: URL | null): string {
  const lines = [
    `# ${answers.name}: a Highwater pipeline, written by \`highwater init\`. Every field: docs/pipelines.md.`,
    `#   highwater run ${answers.name}.yaml       run until Ctrl-C (a restart resumes where it stopped)`,
    `#   highwater status ${answers.name}.yaml    where the stored checkpoint stands`,
    `name: ${answers.name}`,
    'source:',
    `  adapter: ${answers.source}${answers.source === 'mysql' ? '                   # MySQL or MariaDB, binlog on in ROW format' : ''}`,
    ...connectionLines(sourceUrl, SOURCE_PASSWORD_VAR, answers.source === 'postgres' ? 5432 : 3306),
    '  tables:',
    `    include: ${flow(answers.tables)}   # patterns: * any run of characters except ".", ? one character, /…/ a regular expression`,
    '    # exclude: []',
    '  # startup: initial                # initial: snapshot, then every change | snapshot: snapshot only | latest | earliest',
    '  # parallelism: 4                  # snapshot readers, each on its own connection',
    '  # chunkSize: 8096                 # rows per snapshot chunk',
    ...(answers.source === 'postgres'
      ? [
          '  # options:',
          `  #   slotName: highwater_${answers.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}       # the replication slot (default from the name)`,
          '  #   createPublication: true      # false: an administrator creates the publication (docs/adapters/postgres.md)',
        ]
      : [
          '  # options:',
          "  #   serverId: 1234               # the binlog connection's replica id; set one in production",
        ]),
    'sink:',
    ...sinkLines(answers, sinkUrl),
    '# metrics:',
    '#   port: 9464                      # Prometheus /metrics, a status page, /health and /ready, on 127.0.0.1',
    '# log:',
    '#   level: info',
  ];
  return `${lines.join('\n')}\n`;
}

function sinkLines(answers: InitAnswers, sinkUrl: URL | null): string[] {
  switch (answers.sink) {
    case 'stdout':
      return [
        '  type: stdout                      # one JSON event per line on standard output (logs go to standard error)',
        '  # format: native                  # or debezium',
        `# The checkpoint is kept in ${answers.name}.checkpoint.json beside this file.`,
      ];
    case 'file':
      return [
        '  type: file                        # one JSON event per line, appended',
        `  path: ${scalar(answers.sinkPath ?? `${answers.name}.events.jsonl`)}`,
        '  # format: native                  # or debezium',
        `# The checkpoint is kept in ${answers.name}.checkpoint.json beside this file.`,
      ];
    case 'postgres':
    case 'mysql':
      return [
        `  type: ${answers.sink}                    # exactly once: rows and checkpoint in one transaction`,
        ...connectionLines(sinkUrl as URL, TARGET_PASSWORD_VAR, answers.sink === 'postgres' ? 5432 : 3306),
        answers.sinkSchema === undefined
          ? `  # schema: replica                # target ${answers.sink === 'postgres' ? 'schema' : 'database'} (default: the connection's)`
          : `  schema: ${scalar(answers.sinkSchema)}                ${answers.sink === 'postgres' ? '# must exist' : '# the target database'}; tables are created in it`,
        '  # createTables: true              # create missing target tables from the source schema',
        '  # existingRows: fail              # a target table holding rows at the first start: fail, or overwrite them',
      ];
  }
}

/**
 * A connection as the file holds it: `{host, port, user, password, database}` with the password
 * from `${VAR}` (no URL encoding needed), or the URL itself when it carries options (`?sslmode=…`)
 * or names no database.
 */
function connectionLines(url: URL, passwordVar: string, defaultPort: number): string[] {
  const hasPassword = url.password !== '';
  const reference = `\${${passwordVar}}`;
  const note = hasPassword ? [`  # The password comes from the environment: export ${passwordVar}=…`] : [];
  if (url.search !== '' || url.pathname.length <= 1) {
    const shown = new URL(url);
    shown.password = '';
    const text = shown
      .toString()
      .replace(/^([a-z]+:\/\/[^@/]*?)@/, (_, user: string) => (hasPassword ? `${user}:${reference}@` : `${user}@`));
    return [...note, `  connection: ${scalar(text)}`];
  }
  return [
    ...note,
    '  connection:',
    `    host: ${scalar(url.hostname === '' ? 'localhost' : url.hostname.replace(/^\[|\]$/g, ''))}`,
    `    port: ${url.port === '' ? defaultPort : Number(url.port)}`,
    `    user: ${scalar(decodeURIComponent(url.username))}`,
    ...(hasPassword ? [`    password: ${scalar(reference)}`] : []),
    `    database: ${scalar(decodeURIComponent(url.pathname.slice(1)))}`,
  ];
}

/** A YAML scalar, quoted only when it must be. */
function scalar(value: string): string {
  return stringify(value).trimEnd();
}

function flow(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}
