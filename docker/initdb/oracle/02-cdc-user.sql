-- The least-privilege CDC user `highwater` (password `highwater`) in the pluggable database FREEPDB1:
-- the grants docs/adapters/oracle.md lists, plus CREATE TABLE and a quota so the conformance suite
-- (HIGHWATER_ORACLE_URL=oracle://highwater:highwater@127.0.0.1:11521/FREEPDB1) can create its tables.
ALTER SESSION SET CONTAINER = FREEPDB1;
CREATE USER highwater IDENTIFIED BY highwater DEFAULT TABLESPACE users QUOTA UNLIMITED ON users;
GRANT CREATE SESSION, CREATE TABLE TO highwater;
GRANT LOGMINING, SELECT ANY TRANSACTION, FLASHBACK ANY TABLE TO highwater;
GRANT SELECT_CATALOG_ROLE, EXECUTE_CATALOG_ROLE TO highwater;
GRANT SELECT ON V_$DATABASE TO highwater;
GRANT SELECT ON V_$LOG TO highwater;
GRANT SELECT ON V_$LOGFILE TO highwater;
GRANT SELECT ON V_$ARCHIVED_LOG TO highwater;
GRANT SELECT ON V_$LOGMNR_CONTENTS TO highwater;
GRANT SELECT ON V_$LOGMNR_LOGS TO highwater;
GRANT SELECT ON V_$TRANSACTION TO highwater;
GRANT SELECT ON V_$THREAD TO highwater;
GRANT EXECUTE ON DBMS_LOGMNR TO highwater;
