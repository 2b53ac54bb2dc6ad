-- The entrypoint created `highwater` with ALL on the highwater database; CDC also needs to read the binlog
-- (REPLICATION SLAVE, REPLICATION CLIENT) and other sessions' state for the snapshot's low watermark (PROCESS).
GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'highwater'@'%';
-- A sample table to capture.
CREATE TABLE highwater.orders (
  id bigint PRIMARY KEY,
  customer varchar(100) NOT NULL,
  total decimal(10, 2) NOT NULL,
  created_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
INSERT INTO highwater.orders (id, customer, total)
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
SELECT i, CONCAT('customer ', i), (i % 100) + 0.5 FROM n;
-- MySQL 8.4 only (compose.yaml's --mysql-native-password): binlog clients built on the mysqljs driver cannot do
-- caching_sha2_password, so the user authenticates with the older plugin.
ALTER USER 'highwater'@'%' IDENTIFIED WITH mysql_native_password BY 'highwater';
