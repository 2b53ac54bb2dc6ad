// node-oracledb ships no type declarations; the adapter types the few members it uses in
// oracledb-session.ts, so the module is declared opaque here rather than pulling in @types/oracledb.
declare module 'oracledb' {
  const oracledb: unknown;
  export default oracledb;
}
