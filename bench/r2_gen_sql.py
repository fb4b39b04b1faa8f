"""r2: writes a SQL script for the sqlite3 shell (run on :memory:).

Usage: python3 r2_gen_sql.py SCALE OUT.sql. Prints the row count on stdout.
The script creates and fills two tables, indexes them, runs joins and GROUP
BYs, updates and deletes, and checks counts it knows in advance (a failed
check prints FAIL). The driver also compares sqlite3's whole output with the
glibc run's.
"""
import sys


def main():
    scale = float(sys.argv[1])
    out = sys.argv[2]
    n_orders = max(2000, int(150000 * scale))
    n_cust = max(100, n_orders // 15)
    x = 12345

    def rnd(m):
        nonlocal x
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return (x >> 33) % m

    regions = ["north", "south", "east", "west", "central", "islands"]
    lines = ["PRAGMA cache_size=-200000;",
             "CREATE TABLE cust(id INTEGER PRIMARY KEY, name TEXT, region TEXT);",
             "CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INTEGER, "
             "amount INTEGER, note TEXT);",
             "BEGIN;"]
    for i in range(n_cust):
        lines.append("INSERT INTO cust VALUES(%d,'customer %d %s','%s');"
                     % (i, i, "x" * rnd(40), regions[rnd(len(regions))]))
    for i in range(n_orders):
        lines.append("INSERT INTO orders VALUES(%d,%d,%d,'%s');"
                     % (i, rnd(n_cust), rnd(100000), "note-%d-" % i + "y" * rnd(60)))
    lines += [
        "COMMIT;",
        "CREATE INDEX o_cust ON orders(cust);",
        "CREATE INDEX o_amount ON orders(amount);",
        "CREATE INDEX c_region ON cust(region);",
        "SELECT CASE WHEN count(*)=%d THEN 'ok orders' ELSE 'FAIL orders' END FROM orders;"
        % n_orders,
        "SELECT c.region, count(*), sum(o.amount), max(length(o.note)) FROM orders o "
        "JOIN cust c ON c.id=o.cust GROUP BY c.region ORDER BY c.region;",
        "SELECT o.cust, count(*) AS k, sum(o.amount) FROM orders o GROUP BY o.cust "
        "ORDER BY k DESC, o.cust LIMIT 10;",
        "SELECT count(*), sum(amount) FROM orders WHERE amount BETWEEN 1000 AND 2000;",
        "UPDATE orders SET note = note || '-updated' WHERE amount % 3 = 0;",
        "DELETE FROM orders WHERE amount % 5 = 0;",
        "SELECT count(*), sum(length(note)) FROM orders;",
        "SELECT c.name, group_concat(o.id, ',') FROM cust c JOIN orders o ON o.cust=c.id "
        "WHERE c.id % 97 = 0 GROUP BY c.id ORDER BY c.id LIMIT 5;",
        "CREATE TABLE summary AS SELECT cust, count(*) AS n, avg(amount) AS a "
        "FROM orders GROUP BY cust;",
        "SELECT count(*), sum(n), printf('%.3f', avg(a)) FROM summary;",
        "SELECT CASE WHEN (SELECT sum(n) FROM summary)=(SELECT count(*) FROM orders) "
        "THEN 'ok summary' ELSE 'FAIL summary' END;",
        "SELECT region, count(*) FROM (SELECT DISTINCT c.region, o.amount / 1000 AS b "
        "FROM orders o JOIN cust c ON c.id=o.cust) GROUP BY region ORDER BY region;",
    ]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(n_orders + n_cust)


main()
