/**
 * Server side of SCRAM-SHA-256 (RFC 7677 over RFC 5802), the MongoDB simulator's only authentication mechanism, as
 * MongoDB runs it through `saslStart`/`saslContinue`
 * (https://www.mongodb.com/docs/manual/core/security-scram/). Passwords are taken as given (no SASLprep).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** A user the simulator accepts, with privilege actions it lacks (each fails with Unauthorized, 13). */
export interface SimulatedUser {
  readonly username: string;
  readonly password: string;
  /** Privilege actions this user lacks, e.g. `['changeStream']` or `['find']`. */
  readonly deniedActions?: readonly string[];
}

const ITERATIONS = 15_000;

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export class ScramFailure extends Error {
  override readonly name = 'ScramFailure';
}

/** One SCRAM conversation: `start` answers client-first, `finish` checks the proof and returns server-final. */
export class ScramConversation {
  private readonly salt = randomBytes(16);
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  user: SimulatedUser | undefined;

  constructor(private readonly users: readonly SimulatedUser[]) {}

  start(clientFirst: string): string {
    if (!clientFirst.startsWith('n,')) throw new ScramFailure('channel binding is not supported');
    this.clientFirstBare = clientFirst.slice(clientFirst.indexOf(',', 2) + 1);
    const fields = attributes(this.clientFirstBare);
    const name = (fields.get('n') ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
    this.user = this.users.find((user) => user.username === name);
    if (this.user === undefined) throw new ScramFailure(`no user ${name}`);
    this.nonce = `${fields.get('r') ?? ''}${randomBytes(18).toString('base64')}`;
    this.serverFirst = `r=${this.nonce},s=${this.salt.toString('base64')},i=${ITERATIONS}`;
    return this.serverFirst;
  }

  finish(clientFinal: string): string {
    const user = this.user;
    if (user === undefined) throw new ScramFailure('saslContinue before saslStart');
    const fields = attributes(clientFinal);
    if (fields.get('r') !== this.nonce) throw new ScramFailure('nonce mismatch');
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const salted = pbkdf2Sync(user.password, this.salt, ITERATIONS, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(fields.get('p') ?? '', 'base64');
    if (proof.length !== signature.length) throw new ScramFailure('bad proof');
    const recovered = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] as number)));
    if (!timingSafeEqual(createHash('sha256').update(recovered).digest(), storedKey))
      throw new ScramFailure('wrong password');
    return `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`;
  }
}
