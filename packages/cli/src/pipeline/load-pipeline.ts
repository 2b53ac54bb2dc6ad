import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '@highwater/core';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { describeIssue } from './describe-issue.js';
import { type PipelineConfig, pipelineSchema } from './pipeline-schema.js';

/** A validated pipeline and what the runner needs to know about where it came from. */
export interface LoadedPipeline {
  readonly config: PipelineConfig;
  /** Absolute path of the pipeline file. */
  readonly file: string;
  /** `config.name`, or the file name without its extension. */
  readonly name: string;
  /** Where a file checkpoint store keeps its checkpoint (used when the sink does not store checkpoints). */
  readonly checkpointPath: string;
  /** Values that must never be printed: every `${VAR}` substituted into the file, and passwords. */
  readonly secrets: readonly string[];
}

/**
 * Reads, substitutes and validates a pipeline file. Every problem is a `ConfigError` naming the
 * file, the field and what is allowed; nothing is connected to yet.
 *
 * @example
 * const pipeline = await loadPipeline('shop.yaml'); // ${PG_PASSWORD} taken from process.env
 */
export async function loadPipeline(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedPipeline> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${file}: cannot read the pipeline file (${(cause as Error).message})`, { cause });
  }
  return parsePipeline(text, absolute, env);
}

/** `loadPipeline` for text already in memory; `file` is used in messages and for default paths. */
export function parsePipeline(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedPipeline {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ConfigError(`${file}: not valid YAML: ${first.message}`);
  }
  const secrets = new Set<string>();
  const substituted = substituteEnv(doc.toJS(), [], file, env, secrets);
  const result = pipelineSchema.safeParse(substituted, { reportInput: true });
  if (!result.success) throw new ConfigError(describeIssues(file, result.error.issues, [...secrets]));
  const config = result.data;
  for (const password of passwordsOf(config)) secrets.add(password);
  const name = config.name ?? path.basename(file).replace(/\.[^.]*$/, '');
  const checkpointPath = path.resolve(
    path.dirname(file),
    config.checkpoint.path ?? `${path.basename(file).replace(/\.[^.]*$/, '')}.checkpoint.json`,
  );
  return { config, file, name, checkpointPath, secrets: [...secrets].filter((s) => s.length > 0) };
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$/g;

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string of the parsed document. Done after
 * parsing, so a value holding YAML syntax (a password with `: ` or `#`) cannot change the
 * document's structure. `$$` is a literal `$`.
 */
function substituteEnv(
  value: unknown,
  at: readonly (string | number)[],
  file: string,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const found = env[name!];
      if (found !== undefined) {
        secrets.add(found);
        return found;
      }
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `${file}: ${fieldPath(at)} uses \${${name}}, but the environment variable ${name} is not set. ` +
          `Set it (export ${name}=…) or give a default: \${${name}:-value}.`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...at, i], file, env, secrets));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...at, k], file, env, secrets);
    return out;
  }
  return value;
}

function describeIssues(file: string, issues: readonly z.core.$ZodIssue[], secrets: readonly string[]): string {
  const lines = issues.slice(0, 10).map((issue) => `  ${fieldPath(issue.path)}: ${describeIssue(issue, secrets)}`);
  if (issues.length > 10) lines.push(`  … and ${issues.length - 10} more`);
  return `${file}: invalid pipeline:\n${lines.join('\n')}`;
}

function fieldPath(at: readonly PropertyKey[]): string {
  if (at.length === 0) return '(top level)';
  return at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function passwordsOf(config: PipelineConfig): string[] {
  const out: string[] = [];
  for (const connection of [config.source.connection, 'connection' in config.sink ? config.sink.connection : null]) {
    if (connection === null) continue;
    if (typeof connection === 'string') {
      try {
        const password = decodeURIComponent(new URL(connection).password);
        if (password !== '') out.push(password);
      } catch {
        // Not a URL: the adapter reports it when it connects; nothing to hide here.
      }
    } else if (connection.password !== undefined) {
      out.push(connection.password);
    }
  }
  return out;
}
