import { type Logger, pino } from 'pino';
import { redact } from '../pipeline/redact.js';

/** How log lines look: one JSON object per line (for collectors), or a short human line. */
export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface LoggerOptions {
  readonly pipelineName: string;
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Values removed from every line (passwords, substituted environment variables). */
  readonly secrets: readonly string[];
  /** Where lines go (default: standard error, so a `stdout` sink's data never mixes with logs). */
  readonly write?: (line: string) => void;
}

/** A pino logger and the line output behind it, which the progress display takes over while it draws. */
export interface PipelineLogger {
  readonly logger: Logger;
  /** Sends lines to `write` instead (the progress display prints them above its bars); `null` restores the default. */
  redirect(write: ((line: string) => void) | null): void;
}

/**
 * Creates the pipeline's logger. Every line passes through `redact` with the pipeline's secrets —
 * also in their JSON-escaped form, since that is how a secret holding `"` or `\` appears in a JSON
 * line — so a driver message quoting a connection string cannot leak a password.
 */
export function createPipelineLogger(options: LoggerOptions): PipelineLogger {
  const secrets = [...new Set(options.secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  const fallback = options.write ?? ((line: string) => process.stderr.write(line));
  let target = fallback;
  const destination = {
    write(line: string): void {
      const safe = redact(line, secrets);
      target(options.format === 'json' ? safe : prettyLine(safe));
    },
  };
  const logger = pino(
    {
      level: options.level,
      base: { pipeline: options.pipelineName },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    logger,
    redirect(write) {
      target = write ?? fallback;
    },
  };
}

const HIDDEN = new Set(['level', 'time', 'msg', 'pipeline', 'err']);

/** `12:00:01 info  message key=value …`; an `err` field's stack (debug level only) follows on its own lines. */
export function prettyLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const time = typeof record.time === 'string' ? record.time.slice(11, 19) : '';
  const level = String(record.level ?? '').padEnd(5);
  const fields = Object.entries(record)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  let line = `${time} ${level} ${String(record.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
  const err = record.err as { stack?: unknown } | undefined;
  if (err !== undefined && typeof err.stack === 'string') line += `${err.stack}\n`;
  return line;
}
