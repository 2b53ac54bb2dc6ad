-- The entrypoint created `highwater` with ALL on the highwater database; CDC also needs to read the binlog.
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'highwater'@'%';
-- For binlog clients that only speak mysql_native_password (see --mysql-native-password in compose.yaml).
ALTER USER 'highwater'@'%' IDENTIFIED WITH mysql_native_password BY 'highwater';
