import { createInterface } from 'node:readline/promises';

/** Asks on the terminal; the answer, or `fallback` when the line is empty. */
export type Ask = (question: string, fallback?: string) => Promise<string>;

/** A prompt on standard error (standard output stays clean), read from standard input. */
export function terminalAsk(): { ask: Ask; close: () => void } {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return {
    ask: async (question, fallback) => {
      const answer = (
        await rl.question(fallback === undefined ? `${question}: ` : `${question} [${fallback}]: `)
      ).trim();
      return answer === '' ? (fallback ?? '') : answer;
    },
    close: () => rl.close(),
  };
}

/** Asks until the answer is one of `choices`. */
export async function askChoice<T extends string>(
  ask: Ask,
  question: string,
  choices: readonly T[],
  fallback: T,
): Promise<T> {
  for (;;) {
    const answer = await ask(`${question} (${choices.join('/')})`, fallback);
    if ((choices as readonly string[]).includes(answer)) return answer as T;
    process.stderr.write(`  please answer one of ${choices.join(', ')}\n`);
  }
}
