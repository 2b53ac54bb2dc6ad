/**
 * Secrets shorter than this are not replaced wherever they occur: a one-letter password would turn
 * every word containing that letter into `***` and hide nothing. They are still removed from
 * connection URLs, where their position gives them away.
 */
const MIN_FREE_TEXT_SECRET = 4;

/**
 * Removes secrets from text meant for a terminal or a log: the given values (longest first, so a
 * secret containing another is removed whole) and any password written in a connection URL.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= MIN_FREE_TEXT_SECRET) out = out.split(secret).join('***');
  }
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@');
}
