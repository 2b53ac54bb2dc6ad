import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '@highwater/core';
import {
  defaultTables,
  type InitAnswers,
  parseConnection,
  SINKS,
  SOURCE_PASSWORD_VAR,
  SOURCES,
  TARGET_PASSWORD_VAR,
  withPasswordFrom,
} from '../init/answers.js';
import { type Ask, askChoice, terminalAsk } from '../init/ask.js';
import { checkSource } from '../init/check-source.js';
import { checkTarget } from '../init/check-target.js';
import { pipelineTemplate } from '../init/pipeline-template.js';
import type { SetupProblem } from '@highwater/postgres';
import { loadPipeline } from '../pipeline/load-pipeline.js';
import { redact } from '../pipeline/redact.js';
import { EXIT_FAILED, EXIT_OK, EXIT_SETUP, exitCodeOf } from './run.js';

/** The flags of `highwater init`; whatever is missing is asked on a terminal. */
export interface InitOptions {
  readonly name?: string;
  readonly source?: string;
  readonly connection?: string;
  readonly tables?: readonly string[];
  readonly sink?: string;
  readonly sinkConnection?: string;
  readonly sinkSchema?: string;
  readonly sinkPath?: string;
  /** Replace an existing file. */
  readonly force?: boolean;
  /** false: write the file without connecting (`--no-check`). */
  readonly check?: boolean;
}

export interface InitIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Questions for missing answers; default: the terminal when standard input is one, else none. */
  readonly ask?: Ask | null;
}

/**
 * `highwater init [file]`: writes a commented pipeline file for the chosen source and sink, then
 * connects to the source and prints what the server and the user still lack, as the SQL an
 * administrator runs. Exit 0: written and the source is ready; 1: written, but the source is not
 * ready or cannot be reached; 2: bad flags or answers, or the file exists (without --force).
 */
export async function initCommand(file: string | undefined, options: InitOptions, io: InitIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  const terminal = io.ask === undefined && process.stdin.isTTY === true ? terminalAsk() : null;
  const ask = io.ask === undefined ? (terminal?.ask ?? null) : io.ask;
  const secrets: string[] = [];
  try {
    const answers = await gather(file, options, ask, env);
    const target = path.resolve(file ?? `${answers.name}.yaml`);
    const sourceUrl = withPasswordFrom(
      parseConnection(answers.connection, answers.source, '--connection'),
      SOURCE_PASSWORD_VAR,
      env,
    );
    if (sourceUrl.password !== '') secrets.push(decodeURIComponent(sourceUrl.password));
    const sinkUrl =
      answers.sink === 'postgres' || answers.sink === 'mysql'
        ? withPasswordFrom(
            parseConnection(answers.sinkConnection ?? '', answers.sink, '--sink-connection'),
            TARGET_PASSWORD_VAR,
            env,
          )
        : null;
    if (sinkUrl !== null && sinkUrl.password !== '') secrets.push(decodeURIComponent(sinkUrl.password));
    if (options.force !== true && (await exists(target))) {
      throw new ConfigError(`${target} exists already: choose another file name, or pass --force to replace it`);
    }
    await writeFile(target, pipelineTemplate(answers, sourceUrl, sinkUrl));
    // The written file must be one `highwater run` accepts: load it as run would.
    await loadPipeline(target, { ...env, [SOURCE_PASSWORD_VAR]: 'x', [TARGET_PASSWORD_VAR]: 'x' });
    out(`wrote ${target}: ${answers.source} → ${answers.sink}\n`);
    const passwords = [sourceUrl, sinkUrl].flatMap((u, i) =>
      u !== null && u.password !== '' ? [i === 0 ? SOURCE_PASSWORD_VAR : TARGET_PASSWORD_VAR] : [],
    );
    const runLine = `${passwords.map((v) => `${v}=… `).join('')}highwater run ${path.relative(process.cwd(), target) || target}`;
    if (options.check === false) {
      out(`not checked (--no-check). Then: ${runLine}\n`);
      return EXIT_OK;
    }
    const source = await checkSource(answers.source, sourceUrl, answers.tables, answers.name);
    const targetProblems = sinkUrl === null ? [] : await checkTarget(answers.sink as 'postgres' | 'mysql', sinkUrl);
    const report = { tables: source.tables, problems: [...source.problems, ...targetProblems] };
    const where = `${sourceUrl.hostname}:${sourceUrl.port || (answers.source === 'postgres' ? 5432 : 3306)} as ${decodeURIComponent(sourceUrl.username)}`;
    out(
      `connected to the source at ${where}: ${report.tables.length} table${report.tables.length === 1 ? '' : 's'} match${report.tables.length === 1 ? 'es' : ''} ${answers.tables.join(', ')}` +
        `${report.tables.length > 0 ? ` (${abbreviate(report.tables)})` : ''}\n`,
    );
    if (report.problems.length === 0) {
      out(
        `The source is ready for change data capture${sinkUrl === null ? '' : ' and the target answers'}. Next: ${runLine}\n`,
      );
      return EXIT_OK;
    }
    out(redact(describeProblems(report.problems, answers.source, runLine), secrets));
    // The exit-code rule of `run`: a target that does not answer may come back (1); a source that
    // answers but is not set up needs an administrator (4).
    return targetProblems.length > 0 ? EXIT_FAILED : EXIT_SETUP;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`highwater init: ${redact(message, secrets)}\n`);
    return exitCodeOf(error);
  } finally {
    terminal?.close();
  }
}

/** What is missing, then every statement to run, in the order found. */
function describeProblems(problems: readonly SetupProblem[], source: InitAnswers['source'], runLine: string): string {
  const lines = ['The pipeline is not ready to run yet:'];
  for (const p of problems) lines.push(`  - ${p.what}${p.fix === undefined ? '' : ` (${p.fix})`}`);
  const sql = problems.flatMap((p) => p.sql);
  if (sql.length > 0) {
    const who = source === 'postgres' ? " (a superuser, or the tables' owner)" : '';
    lines.push('', `Run as an administrator on the source${who}:`, '', ...sql.map((statement) => `  ${statement}`));
  }
  lines.push('', `Then run \`highwater init\` again with --force to check, or: ${runLine}`);
  return `${lines.join('\n')}\n`;
}

async function gather(
  file: string | undefined,
  options: InitOptions,
  ask: Ask | null,
  env: NodeJS.ProcessEnv,
): Promise<InitAnswers> {
  const need = (flag: string, what: string): never => {
    throw new ConfigError(
      `${flag} is missing: ${what} (or run highwater init on a terminal to be asked). See highwater init --help`,
    );
  };
  const fileName = file === undefined ? undefined : path.basename(file).replace(/\.[^.]*$/, '');
  const name = options.name ?? fileName ?? (ask === null ? 'pipeline' : await ask('Pipeline name', 'pipeline'));
  if (!/^[A-Za-z0-9_.-]+$/.test(name))
    throw new ConfigError(`--name ${JSON.stringify(name)}: letters, digits, _, . and - only`);
  const source = (options.source ??
    (ask === null
      ? need('--source', `${SOURCES.join(' or ')}`)
      : await askChoice(ask, 'Source database', SOURCES, 'postgres'))) as string;
  if (!(SOURCES as readonly string[]).includes(source)) {
    throw new ConfigError(`--source ${JSON.stringify(source)} is not one of ${SOURCES.join(', ')}`);
  }
  const adapter = source as InitAnswers['source'];
  const connection =
    options.connection ??
    (ask === null
      ? need(
          '--connection',
          `the source URL, e.g. ${adapter}://cdc@db.internal/shop (the password may come from ${SOURCE_PASSWORD_VAR})`,
        )
      : await ask(
          `Source URL, e.g. ${adapter}://cdc@db.internal/shop (a password may also come from ${SOURCE_PASSWORD_VAR})`,
        ));
  const url = withPasswordFrom(parseConnection(connection, adapter, '--connection'), SOURCE_PASSWORD_VAR, env);
  const fallbackTables = defaultTables(adapter, url);
  let tables = options.tables
    ?.flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tables === undefined || tables.length === 0) {
    if (ask !== null) {
      const answer = await ask('Tables to capture (patterns, comma-separated)', fallbackTables?.join(', '));
      tables = answer
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
    } else {
      tables =
        fallbackTables ?? need('--tables', 'the connection names no database, so name the tables: --tables shop.*');
    }
  }
  if (tables.length === 0) need('--tables', 'at least one table or pattern, e.g. shop.*');
  const sinkName = (options.sink ??
    (ask === null ? need('--sink', SINKS.join(', ')) : await askChoice(ask, 'Sink', SINKS, 'file'))) as string;
  if (!(SINKS as readonly string[]).includes(sinkName)) {
    throw new ConfigError(`--sink ${JSON.stringify(sinkName)} is not one of ${SINKS.join(', ')}`);
  }
  const sink = sinkName as InitAnswers['sink'];
  let sinkConnection = options.sinkConnection;
  if ((sink === 'postgres' || sink === 'mysql') && sinkConnection === undefined) {
    sinkConnection =
      ask === null
        ? need('--sink-connection', `the target URL for the ${sink} sink`)
        : await ask(
            `Target URL, e.g. ${sink}://writer@replica.internal/analytics (a password may also come from ${TARGET_PASSWORD_VAR})`,
          );
  }
  return {
    name,
    source: adapter,
    connection,
    tables,
    sink,
    ...(sinkConnection === undefined ? {} : { sinkConnection }),
    ...(options.sinkSchema === undefined ? {} : { sinkSchema: options.sinkSchema }),
    ...(options.sinkPath === undefined ? {} : { sinkPath: options.sinkPath }),
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function abbreviate(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}
