-- A least-privilege CDC role: log in, stream logical replication, read every table, create its publication.
-- (Adding a table to a publication needs ownership of the table: create the publication as the owner, or use the
-- postgres superuser, for anything beyond this playground.)
CREATE ROLE highwater WITH LOGIN REPLICATION PASSWORD 'highwater';
GRANT pg_read_all_data TO highwater;
GRANT CREATE ON DATABASE highwater TO highwater;
