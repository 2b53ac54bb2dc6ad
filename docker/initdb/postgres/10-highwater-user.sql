-- A least-privilege CDC role: log in, stream logical replication, read every table, create its publication.
CREATE ROLE highwater WITH LOGIN REPLICATION PASSWORD 'highwater';
GRANT pg_read_all_data TO highwater;
GRANT CREATE ON DATABASE highwater TO highwater;
-- Only a table's owner may add it to a publication, which the pipeline does on its first start. The schema `shop`
-- and its sample table belong to highwater: create your tables as highwater too, or give them to it
-- (`ALTER TABLE … OWNER TO highwater;`, which `highwater init` prints for each table it does not own), or create
-- the publication yourself as the owner and set `createPublication: false`.
CREATE SCHEMA shop AUTHORIZATION highwater;
CREATE TABLE shop.orders (
  id bigint PRIMARY KEY,
  customer text NOT NULL,
  total numeric(10, 2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE shop.orders OWNER TO highwater;
INSERT INTO shop.orders (id, customer, total)
SELECT n, 'customer ' || n, (n % 100) + 0.5 FROM generate_series(1, 100) AS n;
