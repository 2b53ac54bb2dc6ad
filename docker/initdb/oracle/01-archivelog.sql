-- Runs once, as SYSDBA in the CDB root, when the oracle service's data volume is created.
-- LogMiner capture needs ARCHIVELOG mode (redo must survive until it is mined) and at least minimal
-- supplemental logging (docs/adapters/oracle.md, "Database set-up"). Switching to ARCHIVELOG needs a
-- restart into MOUNT state.
ALTER SYSTEM SET db_recovery_file_dest_size = 10G SCOPE = BOTH;
SHUTDOWN IMMEDIATE
STARTUP MOUNT
ALTER DATABASE ARCHIVELOG;
ALTER DATABASE OPEN;
ALTER PLUGGABLE DATABASE ALL OPEN;
ALTER PLUGGABLE DATABASE ALL SAVE STATE;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
ALTER SYSTEM ARCHIVE LOG CURRENT;
