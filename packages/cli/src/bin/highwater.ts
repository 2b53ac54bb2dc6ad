#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { InitOptions } from '../commands/init.js';
import { EXIT_CONFIG } from '../commands/exit-codes.js';

// Each command's module (and through it the adapters, sinks and drivers it uses) is imported when
// that command runs: loading every one of them took about 0.5 s of each start.

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('highwater')
  .description('Change data capture pipelines: snapshot and stream PostgreSQL and MySQL tables into a sink.')
  .version(version, '-V, --version', 'print the version')
  .helpOption('-h, --help', 'show help')
  .showHelpAfterError('(run highwater --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  highwater init shop.yaml                     write a pipeline file, check the source, print the SQL it needs
  highwater run shop.yaml                      run until Ctrl-C (a restart resumes)
  highwater run shop.yaml --progress=off --log-format=json
  highwater status shop.yaml                   where the stored checkpoint stands
  highwater verify shop.yaml                   compare source and target tables
  highwater slots shop.yaml                    replication slots and the WAL they retain

Pipeline files are described in docs/pipelines.md; logs, metrics and restarts in docs/operations.md.`,
  );

program
  .command('init')
  .description(
    'write a commented pipeline file for a source and a sink, connect to the source, and print the SQL an administrator must run',
  )
  .argument('[file]', 'pipeline file to write (default: <name>.yaml)')
  .option('--name <name>', 'pipeline name (default: the file name)')
  .addOption(new Option('--source <adapter>', 'source database').choices(['postgres', 'mysql']))
  .option('--connection <url>', `source URL; a password may instead come from HIGHWATER_SOURCE_PASSWORD`)
  .option('--tables <patterns...>', 'tables to capture (default: public.* on Postgres, <database>.* on MySQL)')
  .addOption(new Option('--sink <type>', 'where the events go').choices(['file', 'stdout', 'postgres', 'mysql']))
  .option('--sink-connection <url>', 'target URL of a postgres or mysql sink (password: HIGHWATER_TARGET_PASSWORD)')
  .option('--sink-schema <schema>', 'target schema (Postgres) or database (MySQL) of a SQL sink')
  .option('--sink-path <file>', 'events file of the file sink (default: <name>.events.jsonl)')
  .option('--force', 'replace the file if it exists')
  .option('--no-check', 'write the file without connecting to the source')
  .addHelpText(
    'after',
    `
Asks for what the flags leave out when run on a terminal. Passwords are never written to the file: it
reads them from HIGHWATER_SOURCE_PASSWORD and HIGHWATER_TARGET_PASSWORD.

Exit codes: 0 written and the source is ready, 1 written but the source is not ready (the SQL to run is
printed) or cannot be reached, 2 bad flags or the file exists.

Example:
  HIGHWATER_SOURCE_PASSWORD=… highwater init shop.yaml --source postgres \\
    --connection postgres://cdc@db.internal:5432/shop --tables 'public.*' --sink file`,
  )
  .action(async (file: string | undefined, options: InitOptions) => {
    process.exitCode = await (await import('../commands/init.js')).initCommand(file, options);
  });

program
  .command('run')
  .description('run a pipeline until stopped (SIGINT/SIGTERM: finish the batch, store the checkpoint, exit)')
  .argument('<pipeline>', 'pipeline file (YAML)')
  .addOption(
    new Option('--progress <mode>', 'progress bars on standard error').choices(['auto', 'on', 'off']).default('auto'),
  )
  .addOption(
    new Option('--log-format <format>', 'default: pretty on a terminal, json otherwise').choices(['json', 'pretty']),
  )
  .addOption(
    new Option('--log-level <level>', "overrides the pipeline's log.level").choices([
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
    ]),
  )
  .addHelpText(
    'after',
    `
Exit codes: 0 stopped or finished, 1 the pipeline failed, 2 bad command line or pipeline file,
4 a database is not set up as the pipeline needs (the message gives the statement to run there),
130/143 a second SIGINT/SIGTERM (exit at once; the next run resumes from the last checkpoint).

Example:
  PG_PASSWORD=… highwater run shop.yaml --log-level=debug`,
  )
  .action(
    async (
      file: string,
      options: { progress: 'auto' | 'on' | 'off'; logFormat?: 'json' | 'pretty'; logLevel?: 'info' },
    ) => {
      process.exitCode = await (await import('../commands/run.js')).runCommand(file, options);
    },
  );

program
  .command('status')
  .description("print a pipeline's stored checkpoint in words: phase, tables, chunks done, stream position")
  .argument('<pipeline>', 'pipeline file (YAML)')
  .option('--json', 'print JSON instead')
  .addHelpText('after', '\nExample:\n  highwater status shop.yaml --json')
  .action(async (file: string, options: { json?: boolean }) => {
    process.exitCode = await (await import('../commands/status.js')).statusCommand(file, options);
  });

program
  .command('slots')
  .description("list Highwater's replication slots on a Postgres source (WAL retained, last use), or drop one")
  .argument('<pipeline>', 'pipeline file (YAML): the source server to look at')
  .option('--drop <slot>', 'drop this slot (and its publication)')
  .option('--json', 'print JSON instead')
  .addHelpText(
    'after',
    '\nExamples:\n  highwater slots shop.yaml\n  highwater slots shop.yaml --drop highwater_old_pipeline',
  )
  .action(async (file: string, options: { json?: boolean; drop?: string }) => {
    process.exitCode = await (await import('../commands/slots.js')).slotsCommand(file, options);
  });

program
  .command('verify')
  .description('compare source and target table by table (run while the pipeline is quiet)')
  .argument('<pipeline>', 'pipeline file (YAML)')
  .option('--json', 'print the report as JSON')
  .option('--tables <names...>', 'only these tables (qualified source names, separated by commas or spaces)')
  .option('--chunk-size <rows>', 'rows per compared chunk', (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new CommanderError(
        EXIT_CONFIG,
        'highwater.badChunkSize',
        `--chunk-size must be a positive integer, got ${value}`,
      );
    return n;
  })
  .addHelpText(
    'after',
    '\nExit codes: 0 equal, 1 differences found, 2 the comparison could not be made, 3 the pipeline has not\n' +
      'stored its whole snapshot yet (said first; the report follows).\n\nExample:\n  highwater verify shop.yaml --tables public.orders,public.customers',
  )
  .action(async (file: string, options: { json?: boolean; tables?: string[]; chunkSize?: number }) => {
    process.exitCode = await (await import('../commands/verify.js')).verifyCommand(file, options);
  });

try {
  await program.parseAsync();
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander has printed the message; help and --version end with code 0.
  process.exitCode = error.exitCode === 0 ? 0 : EXIT_CONFIG;
}
// A driver's idle socket or timer must not keep a finished command alive.
process.exit(process.exitCode ?? 0);
