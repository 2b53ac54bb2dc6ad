-- The entrypoint created `highwater` with ALL on the highwater database; CDC also needs to read the binlog
-- (REPLICATION CLIENT is MariaDB's older name for BINLOG MONITOR).
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'highwater'@'%';
