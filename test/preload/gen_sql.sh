#!/usr/bin/env bash
# gen_sql.sh ROWS > script.sql
#
# Writes an SQLite script for test/preload/run.sh: ROWS orders, ROWS/10
# customers and 5000 products generated with recursive CTEs (no randomness:
# every value is arithmetic on the row number), four indexes, joins, GROUP BY,
# window functions, DISTINCT, group_concat, UPDATE/DELETE and an integrity
# check.  A large page cache and in-memory temp store make SQLite go through
# malloc heavily.  The output depends only on ROWS.
set -eu
N=${1:?usage: gen_sql.sh ROWS}
(( N >= 1000 )) || { echo "gen_sql.sh: ROWS must be at least 1000" >&2; exit 2; }
C=$((N / 10))
cat <<SQL
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, region INTEGER, joined INTEGER);
CREATE TABLE products(id INTEGER PRIMARY KEY, title TEXT, price INTEGER);
CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INTEGER, product INTEGER, qty INTEGER, day INTEGER, note TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $C)
INSERT INTO customers SELECT x, 'customer-' || hex((x * 2654435761) % 4294967296) || '-' || x,
       (x * 31) % 17, 1000000 + (x * 7919) % 86400 FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
INSERT INTO products SELECT x, printf('product %05d %s', x, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26, 1 + x % 13)),
       100 + (x * 104729) % 9900 FROM c;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $N)
INSERT INTO orders SELECT x, 1 + (x * 7919) % $C, 1 + (x * 6271) % 5000, 1 + x % 9, x % 365,
       CASE WHEN x % 5 = 0 THEN NULL ELSE printf('%.*c', 1 + (x * 13) % 120, 'n') || x END FROM c;
COMMIT;
CREATE INDEX orders_cust ON orders(cust);
CREATE INDEX orders_day ON orders(day, qty);
CREATE INDEX orders_note ON orders(note);
CREATE INDEX customers_region ON customers(region, name);
SELECT 'q1', region, count(*), sum(o.qty * p.price), min(o.qty), max(p.price)
  FROM orders o JOIN customers c ON c.id = o.cust JOIN products p ON p.id = o.product
 GROUP BY region ORDER BY region;
SELECT 'q2', day, count(*), sum(qty) FROM orders GROUP BY day ORDER BY sum(qty) DESC, day LIMIT 20;
SELECT 'q3', c.name, sum(o.qty * p.price) AS s
  FROM customers c JOIN orders o ON o.cust = c.id JOIN products p ON p.id = o.product
 GROUP BY c.id ORDER BY s DESC, c.id LIMIT 50;
SELECT 'q4', count(DISTINCT note), count(note), sum(length(note)) FROM orders;
SELECT 'q5', length(group_concat(name, ',')), count(*) FROM (SELECT name FROM customers ORDER BY name DESC);
SELECT 'q6', cust, qty, day, r FROM (
  SELECT cust, qty, day, rank() OVER (PARTITION BY cust ORDER BY qty DESC, day) AS r FROM orders WHERE cust % 1000 = 7)
 WHERE r <= 3 ORDER BY cust, r;
UPDATE orders SET qty = qty + 1 WHERE day % 7 = 0;
DELETE FROM orders WHERE (id * 13) % 11 = 0;
SELECT 'q7', count(*), sum(qty), total(length(note)) FROM orders;
SELECT 'q8', count(*) FROM customers c
 WHERE EXISTS (SELECT 1 FROM orders o WHERE o.cust = c.id AND o.qty > 8 AND o.day < 30);
SELECT 'q9', note, id FROM orders WHERE note IS NOT NULL ORDER BY note DESC, id LIMIT 5;
SELECT 'q10', p.title, count(*) FROM orders o JOIN products p ON p.id = o.product
 WHERE o.day BETWEEN 100 AND 120 GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 10;
CREATE TEMP TABLE t AS SELECT cust, group_concat(id, ' ') AS ids FROM orders GROUP BY cust;
SELECT 'q11', count(*), sum(length(ids)), max(length(ids)) FROM t;
SELECT 'q12', id, name, region, joined FROM customers ORDER BY region, joined DESC, id;
PRAGMA integrity_check;
SQL
