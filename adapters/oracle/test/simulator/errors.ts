/**
 * SIMULATOR. An error shaped like node-oracledb's: `code` (`ORA-01291`) and, for server errors,
 * `errorNum`; the message starts with the code as Oracle's do.
 */
export class SimulatedOracleError extends Error {
  readonly code: string;
  readonly errorNum: number | undefined;

  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.errorNum = code.startsWith('ORA-') ? Number(code.slice(4)) : undefined;
  }
}
