"""Every cell of the statement policy (docs/architecture.md), in both modes, and the
evasions the policy must see through."""

from __future__ import annotations

import pytest

from prodsql.policy import Action, Mode, PolicyConfig, classify, decide, evaluate

RUN, CONFIRM, REFUSE = Action.RUN, Action.CONFIRM, Action.REFUSE

# (sql, read-only action, write action)
TABLE: list[tuple[str, Action, Action]] = [
    # reads
    ("SELECT 1", RUN, RUN),
    ("select * from public.orders where id = 1", RUN, RUN),
    ("TABLE orders", RUN, RUN),
    ("VALUES (1), (2)", RUN, RUN),
    ("SHOW search_path", RUN, RUN),
    ("EXPLAIN SELECT * FROM orders", RUN, RUN),
    ("EXPLAIN ANALYZE SELECT * FROM orders", RUN, RUN),
    ("EXPLAIN DELETE FROM orders", RUN, RUN),
    ("EXPLAIN (ANALYZE false) DELETE FROM orders", RUN, RUN),
    ("EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1", REFUSE, RUN),
    ("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN ANALYZE UPDATE orders SET a = 1", REFUSE, CONFIRM),
    ("EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", REFUSE, RUN),
    ("EXPLAIN CREATE TABLE x AS SELECT 1", RUN, RUN),
    ("EXPLAIN ANALYZE EXECUTE p(1)", CONFIRM, CONFIRM),
    # a repeated option: PostgreSQL takes the last one; any ANALYZE not false counts
    ("EXPLAIN (ANALYZE off, ANALYZE on) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN (ANALYZE on, ANALYZE off) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN (ANALYZE true) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN (ANALYZE 1) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN (ANALYZE) DELETE FROM orders", REFUSE, CONFIRM),
    ("EXPLAIN (ANALYZE 0) DELETE FROM orders", RUN, RUN),
    # ordinary SET and transaction control
    ("SET search_path = app, public", RUN, RUN),
    ("SET LOCAL statement_timeout = '5s'", RUN, RUN),
    ("RESET search_path", RUN, RUN),
    ("SET TIME ZONE 'UTC'", RUN, RUN),
    ("BEGIN", RUN, RUN),
    ("BEGIN ISOLATION LEVEL SERIALIZABLE", RUN, RUN),
    ("BEGIN READ ONLY", RUN, RUN),
    ("START TRANSACTION", RUN, RUN),
    ("COMMIT", RUN, RUN),
    ("ROLLBACK", RUN, RUN),
    ("SAVEPOINT s1", RUN, RUN),
    ("ROLLBACK TO SAVEPOINT s1", RUN, RUN),
    ("RELEASE SAVEPOINT s1", RUN, RUN),
    ("SET CONSTRAINTS ALL DEFERRED", RUN, RUN),
    ("SET transaction_read_only = on", RUN, RUN),
    # making a transaction read-write
    ("BEGIN READ WRITE", REFUSE, RUN),
    ("START TRANSACTION READ WRITE", REFUSE, RUN),
    ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", REFUSE, RUN),
    ("SET TRANSACTION READ WRITE", REFUSE, RUN),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", REFUSE, RUN),
    ("SET transaction_read_only = off", REFUSE, RUN),
    ("SET LOCAL transaction_read_only TO false", REFUSE, RUN),
    ("SET default_transaction_read_only = 0", REFUSE, RUN),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", REFUSE, RUN),
    ("RESET default_transaction_read_only", REFUSE, RUN),
    ("SET default_transaction_read_only TO DEFAULT", REFUSE, RUN),
    ("RESET transaction_read_only", REFUSE, RUN),
    # cursors
    ("DECLARE c CURSOR FOR SELECT * FROM orders", RUN, RUN),
    ("FETCH 10 FROM c", RUN, RUN),
    ("MOVE NEXT IN c", RUN, RUN),
    ("CLOSE c", RUN, RUN),
    ("DECLARE c CURSOR FOR SELECT * FROM orders FOR UPDATE", REFUSE, RUN),
    # COPY
    ("COPY (SELECT * FROM orders) TO STDOUT", RUN, RUN),
    ("COPY orders TO STDOUT WITH (FORMAT csv)", RUN, RUN),
    ("COPY orders FROM STDIN", REFUSE, RUN),
    ("COPY orders FROM '/var/lib/postgresql/orders.csv'", REFUSE, CONFIRM),
    ("COPY orders TO '/tmp/orders.csv'", REFUSE, CONFIRM),
    ("COPY orders FROM PROGRAM 'curl http://x'", REFUSE, REFUSE),
    ("COPY orders TO PROGRAM 'gzip > /tmp/o.gz'", REFUSE, REFUSE),
    ("COPY (DELETE FROM orders RETURNING *) TO STDOUT", REFUSE, CONFIRM),
    # data changes
    ("INSERT INTO orders (id) VALUES (1)", REFUSE, RUN),
    ("INSERT INTO orders SELECT * FROM staging", REFUSE, RUN),
    ("UPDATE orders SET status = 'x' WHERE id = 1", REFUSE, RUN),
    ("DELETE FROM public.orders WHERE id = 42", REFUSE, RUN),
    ("DELETE FROM orders WHERE CURRENT OF c", REFUSE, RUN),
    ("DELETE FROM orders o USING customers c WHERE o.cid = c.id", REFUSE, RUN),
    ("MERGE INTO orders o USING s ON o.id = s.id WHEN MATCHED THEN DELETE", REFUSE, RUN),
    ("UPDATE orders SET status = 'x'", REFUSE, CONFIRM),
    ("DELETE FROM public.orders", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE true", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 1=1", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 'a'='a'", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 2 > 1", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE true OR id = 5", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE NOT false", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 't'::boolean", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 'yes'", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE id = id", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE id IS NOT DISTINCT FROM id", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE 1 = 1 AND 2 = 2", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE NOT (id <> id)", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE now() > '2020-01-01'", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE random() < 0.5", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE ctid IS NOT NULL", REFUSE, CONFIRM),
    ("DELETE FROM orders o WHERE o.xmin IS NOT NULL", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE id::text = id::text", REFUSE, CONFIRM),
    ("UPDATE orders SET a = 1 WHERE a::text::int >= a::text::int", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE id IS NULL OR id IS NOT NULL", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE x = 1 OR id IS NOT NULL OR id IS NULL", REFUSE, CONFIRM),
    ("DELETE FROM orders WHERE id IS NOT NULL", REFUSE, RUN),
    ("DELETE FROM orders WHERE id IS NULL OR x IS NOT NULL", REFUSE, RUN),
    ("DELETE FROM orders WHERE id::text = code", REFUSE, RUN),
    ("DELETE FROM orders WHERE false", REFUSE, RUN),
    ("DELETE FROM orders WHERE 1 = 2 OR id = 7", REFUSE, RUN),
    ("DELETE FROM orders WHERE id = 1 AND true", REFUSE, RUN),
    ("MERGE INTO orders USING s ON true WHEN MATCHED THEN DELETE", REFUSE, CONFIRM),
    ("MERGE INTO orders USING s ON true WHEN NOT MATCHED THEN INSERT VALUES (1)", REFUSE, RUN),
    (
        "MERGE INTO orders o USING s ON o.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE",
        REFUSE,
        CONFIRM,
    ),
    # CTEs, PREPARE, EXPLAIN ANALYZE
    ("WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d", REFUSE, CONFIRM),
    ("WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d", REFUSE, RUN),
    ("WITH u AS (UPDATE orders SET a = 1 WHERE 1=1 RETURNING 1) SELECT 1", REFUSE, CONFIRM),
    ("SELECT * FROM (WITH x AS (DELETE FROM t RETURNING 1) SELECT 1) s", REFUSE, CONFIRM),
    ("PREPARE p AS DELETE FROM orders", REFUSE, CONFIRM),
    ("PREPARE p AS DELETE FROM orders WHERE id = $1", REFUSE, RUN),
    ("PREPARE q AS SELECT * FROM orders WHERE id = $1", RUN, RUN),
    ("EXECUTE p(1)", CONFIRM, CONFIRM),
    ("DEALLOCATE p", RUN, RUN),
    # row locks
    ("SELECT * FROM orders WHERE id = 1 FOR UPDATE", REFUSE, RUN),
    ("SELECT * FROM orders FOR SHARE SKIP LOCKED", REFUSE, RUN),
    ("SELECT * FROM (SELECT * FROM orders FOR UPDATE) s", REFUSE, RUN),
    # DDL
    ("CREATE TABLE t (id int)", REFUSE, RUN),
    ("CREATE INDEX CONCURRENTLY i ON t (id)", REFUSE, RUN),
    ("CREATE VIEW v AS SELECT 1", REFUSE, RUN),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", REFUSE, CONFIRM),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", REFUSE, RUN),
    ("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", REFUSE, CONFIRM),
    ("CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT 1", REFUSE, CONFIRM),
    ("CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY ch", REFUSE, CONFIRM),
    # a function body runs later, when nobody asks: judge it when it is created
    ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'", REFUSE, CONFIRM),
    (
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$DELETE FROM t WHERE id = 1$$",
        REFUSE,
        RUN,
    ),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT pg_cancel_backend(1)$$",
        REFUSE,
        CONFIRM,
    ),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'not sql'", REFUSE, CONFIRM),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END",
        REFUSE,
        CONFIRM,
    ),
    (
        "CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$BEGIN DELETE FROM t; RETURN 1; "
        "END$$",
        REFUSE,
        CONFIRM,
    ),
    (
        "CREATE FUNCTION h(a int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
        "DELETE FROM t WHERE id = a; RETURN 1; END$$",
        REFUSE,
        RUN,
    ),
    (
        "CREATE PROCEDURE p(n text) LANGUAGE plpgsql AS $$BEGIN EXECUTE 'DROP TABLE ' || n; END$$",
        REFUSE,
        CONFIRM,
    ),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'BEGIN oops; END'", REFUSE, CONFIRM),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", REFUSE, CONFIRM),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", REFUSE, CONFIRM),
    ("CREATE SCHEMA s", REFUSE, RUN),
    ("CREATE SEQUENCE s", REFUSE, RUN),
    ("CREATE TABLE t2 AS SELECT * FROM t", REFUSE, RUN),
    ("CREATE MATERIALIZED VIEW mv AS SELECT 1", REFUSE, RUN),
    ("SELECT * INTO t3 FROM t", REFUSE, RUN),
    ("ALTER TABLE t ADD COLUMN c int", REFUSE, RUN),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (id > 0) NOT VALID", REFUSE, RUN),
    ("ALTER TABLE t ALTER COLUMN c SET DEFAULT 0", REFUSE, RUN),
    ("ALTER TABLE t VALIDATE CONSTRAINT c", REFUSE, RUN),
    ("ALTER TABLE t ENABLE TRIGGER tr", REFUSE, RUN),
    ("ALTER TABLE t DROP COLUMN c", REFUSE, CONFIRM),
    ("ALTER TABLE t ALTER COLUMN c TYPE bigint", REFUSE, CONFIRM),
    ("ALTER TABLE t DISABLE TRIGGER ALL", REFUSE, CONFIRM),
    ("ALTER TABLE t DISABLE TRIGGER audit_tr", REFUSE, CONFIRM),
    ("ALTER TABLE t DROP CONSTRAINT c", REFUSE, CONFIRM),
    ("ALTER TABLE t ADD COLUMN d int, DROP COLUMN c", REFUSE, CONFIRM),
    ("ALTER TABLE t DISABLE ROW LEVEL SECURITY", REFUSE, CONFIRM),
    ("ALTER TABLE t RENAME TO t_old", REFUSE, CONFIRM),
    ("ALTER TABLE t OWNER TO bob", REFUSE, CONFIRM),
    ("ALTER TABLE t SET SCHEMA other", REFUSE, CONFIRM),
    ("ALTER SEQUENCE s INCREMENT BY 2", REFUSE, RUN),
    ("ALTER SEQUENCE s RESTART", REFUSE, CONFIRM),
    ("COMMENT ON TABLE t IS 'orders'", REFUSE, RUN),
    ("DROP TABLE t", REFUSE, CONFIRM),
    ("DROP TABLE IF EXISTS public.t CASCADE", REFUSE, CONFIRM),
    ("DROP INDEX CONCURRENTLY i", REFUSE, CONFIRM),
    ("DROP VIEW v", REFUSE, CONFIRM),
    ("DROP FUNCTION f(int)", REFUSE, CONFIRM),
    ("DROP SCHEMA s CASCADE", REFUSE, CONFIRM),
    ("DROP DATABASE d", REFUSE, CONFIRM),
    ("DROP EXTENSION pgaudit", REFUSE, CONFIRM),
    ("TRUNCATE orders", REFUSE, CONFIRM),
    ("TRUNCATE TABLE a, b RESTART IDENTITY", REFUSE, CONFIRM),
    # privileges and roles
    ("GRANT SELECT ON orders TO bob", REFUSE, CONFIRM),
    ("REVOKE ALL ON orders FROM PUBLIC", REFUSE, CONFIRM),
    ("GRANT admin TO bob", REFUSE, CONFIRM),
    ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob", REFUSE, CONFIRM),
    ("CREATE ROLE bob LOGIN", REFUSE, CONFIRM),
    ("CREATE USER bob", REFUSE, CONFIRM),
    ("ALTER ROLE bob NOSUPERUSER", REFUSE, CONFIRM),
    ("ALTER USER bob PASSWORD 'x'", REFUSE, CONFIRM),
    ("ALTER ROLE bob SET search_path = app", REFUSE, CONFIRM),
    ("DROP ROLE bob", REFUSE, CONFIRM),
    ("DROP USER IF EXISTS bob", REFUSE, CONFIRM),
    ("DROP OWNED BY bob", REFUSE, CONFIRM),
    ("REASSIGN OWNED BY bob TO alice", REFUSE, CONFIRM),
    # maintenance and locks
    ("VACUUM orders", REFUSE, RUN),
    ("ANALYZE orders", REFUSE, RUN),
    ("VACUUM FULL orders", REFUSE, CONFIRM),
    ("VACUUM (FULL, VERBOSE) orders", REFUSE, CONFIRM),
    ("CLUSTER orders USING orders_pkey", REFUSE, CONFIRM),
    ("REINDEX TABLE orders", REFUSE, CONFIRM),
    ("REINDEX INDEX CONCURRENTLY orders_pkey", REFUSE, CONFIRM),
    ("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE", REFUSE, CONFIRM),
    ("LOCK orders", REFUSE, CONFIRM),
    ("REFRESH MATERIALIZED VIEW mv", REFUSE, RUN),
    ("CHECKPOINT", REFUSE, CONFIRM),
    # dangerous functions anywhere in the tree
    ("SELECT pg_terminate_backend(12345)", CONFIRM, CONFIRM),
    ("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'idle'", CONFIRM, CONFIRM),
    ("SELECT pg_catalog.pg_terminate_backend(1)", CONFIRM, CONFIRM),
    ('SELECT "pg_terminate_backend"(1)', CONFIRM, CONFIRM),
    ("SELECT lo_unlink(1234)", REFUSE, CONFIRM),
    ("SELECT lo_import('/etc/passwd')", REFUSE, CONFIRM),
    ("SELECT lo_export(1, '/tmp/x')", CONFIRM, CONFIRM),
    ("SELECT dblink_exec('dbname=x', 'drop table t')", CONFIRM, CONFIRM),
    ("SELECT * FROM dblink('dbname=x', 'select 1') AS t(a int)", CONFIRM, CONFIRM),
    ("SELECT pg_drop_replication_slot('s')", CONFIRM, CONFIRM),
    ("SELECT pg_reload_conf()", CONFIRM, CONFIRM),
    ("SELECT pg_rotate_logfile()", CONFIRM, CONFIRM),
    ("SELECT pg_promote()", CONFIRM, CONFIRM),
    ("SELECT pg_read_file('/etc/passwd')", CONFIRM, CONFIRM),
    ("SELECT pg_ls_dir('.')", CONFIRM, CONFIRM),
    ("SELECT pg_switch_wal()", CONFIRM, CONFIRM),
    ("SELECT pg_logical_emit_message(true, 'x', 'y')", CONFIRM, CONFIRM),
    ("SELECT pg_advisory_lock(1)", CONFIRM, CONFIRM),
    ("SELECT pg_stat_statements_reset()", CONFIRM, CONFIRM),
    ("SELECT setval('s', 1)", CONFIRM, CONFIRM),
    ("SELECT x FROM t WHERE y IN (SELECT pg_terminate_backend(pid) FROM a)", CONFIRM, CONFIRM),
    ("SELECT pg_advisory_xact_lock(1)", CONFIRM, CONFIRM),
    ("SELECT pg_try_advisory_lock(1)", CONFIRM, CONFIRM),
    ("SELECT pg_advisory_unlock_all()", CONFIRM, CONFIRM),
    # large objects are data: writes
    ("SELECT lo_from_bytea(0, 'x')", REFUSE, CONFIRM),
    ("SELECT lowrite(lo_open(16420, 131072), 'abc')", REFUSE, CONFIRM),
    ("SELECT lo_open(16420, 262144)", REFUSE, CONFIRM),
    ("SELECT lo_create(0)", REFUSE, CONFIRM),
    ("SELECT lo_creat(-1)", REFUSE, CONFIRM),
    ("SELECT lo_put(16420, 0, 'x')", REFUSE, CONFIRM),
    ("SELECT lo_truncate64(lo_open(1, 131072), 0)", REFUSE, CONFIRM),
    ("SELECT pg_notify('ch', 'x')", REFUSE, RUN),
    ("SELECT pg_sleep(1)", RUN, RUN),
    # unparseable and several statements in one text
    ("SELEC 1", CONFIRM, CONFIRM),
    ("DELETE FROM", CONFIRM, CONFIRM),
    ("SELECT 1; SELECT 2", CONFIRM, CONFIRM),
    ("SELECT 1; DELETE FROM t WHERE id = 1", REFUSE, CONFIRM),
    ("SELECT 1; SET application_name = 'x'", REFUSE, REFUSE),
    # opaque code
    ("CALL do_things()", CONFIRM, CONFIRM),
    ("CALL do_things(pg_terminate_backend(1))", CONFIRM, CONFIRM),
    ("DO $$ BEGIN RAISE NOTICE 'hello'; END $$", RUN, RUN),
    ("DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM t; END $$", RUN, RUN),
    ("DO $$ BEGIN PERFORM 1; END $$", RUN, RUN),
    ("DO $$ BEGIN INSERT INTO t VALUES (1); END $$", REFUSE, CONFIRM),
    ("DO $$ BEGIN DELETE FROM t WHERE id = 1; END $$", REFUSE, CONFIRM),
    ("DO $$ BEGIN DELETE FROM t; END $$", REFUSE, CONFIRM),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", REFUSE, CONFIRM),
    ("DO $$ BEGIN EXECUTE format('DROP TABLE %I', 't'); END $$", CONFIRM, CONFIRM),
    ("DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$", CONFIRM, CONFIRM),
    ("DO $$ DECLARE x bool; BEGIN x := pg_cancel_backend(1); END $$", CONFIRM, CONFIRM),
    ("DO $$ BEGIN IF pg_terminate_backend(1) THEN NULL; END IF; END $$", CONFIRM, CONFIRM),
    ("DO LANGUAGE plpython3u $$ plpy.execute('drop table t') $$", CONFIRM, CONFIRM),
    ("DO $$ BEGIN COMMIT; END $$", RUN, RUN),  # ends a read-only transaction: harmless
    ("DO $$ BEGIN CALL p(); END $$", CONFIRM, CONFIRM),
    ("DO $$ BEGIN this is not plpgsql; END $$", CONFIRM, CONFIRM),
    # always refused
    ("SET application_name = 'x'", REFUSE, REFUSE),
    ("SET LOCAL application_name = 'x'", REFUSE, REFUSE),
    ("SET SESSION application_name TO DEFAULT", REFUSE, REFUSE),
    ("RESET application_name", REFUSE, REFUSE),
    ("SET Application_Name = 'x'", REFUSE, REFUSE),
    ("SET \"application_name\" = 'x'", REFUSE, REFUSE),
    ("SET U&\"applic\\0061tion_name\" = 'x'", REFUSE, REFUSE),
    ("SET U&\"!0061pplication_name\" UESCAPE '!' = 'x'", REFUSE, REFUSE),
    ("SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("SET LOCAL pgaudit.log_level = 'debug5'", REFUSE, REFUSE),
    ("SET \"PGAUDIT.LOG\" = 'none'", REFUSE, REFUSE),
    ("RESET pgaudit.log", REFUSE, REFUSE),
    ("RESET ALL", REFUSE, REFUSE),
    ("DISCARD ALL", REFUSE, REFUSE),
    ("SET SESSION AUTHORIZATION bob", REFUSE, REFUSE),
    ("SET SESSION AUTHORIZATION DEFAULT", REFUSE, REFUSE),
    ("RESET SESSION AUTHORIZATION", REFUSE, REFUSE),
    ("SET ROLE bob", REFUSE, REFUSE),
    ("SET LOCAL ROLE bob", REFUSE, REFUSE),
    ("RESET ROLE", REFUSE, REFUSE),
    ("SET session_replication_role = replica", REFUSE, REFUSE),
    ("SET log_min_messages = panic", REFUSE, REFUSE),
    ("SET standard_conforming_strings = off", REFUSE, REFUSE),
    ("SELECT set_config('standard_conforming_strings', 'off', false)", REFUSE, REFUSE),
    ("SET standard_conforming_strings = on", RUN, RUN),
    ("SELECT set_config('application_name', 'x', false)", REFUSE, REFUSE),
    ("SELECT pg_catalog.set_config('application_name', 'x', false)", REFUSE, REFUSE),
    ("SELECT \"set_config\"('pgaudit.log', 'none', true)", REFUSE, REFUSE),
    ("SELECT SET_CONFIG('APPLICATION_NAME', 'x', false)", REFUSE, REFUSE),
    ("SELECT set_config('application_name'::text, 'x', false)", REFUSE, REFUSE),
    ("SELECT * FROM set_config('pgaudit.log', 'none', false)", REFUSE, REFUSE),
    ("SELECT 1 WHERE set_config('pgaudit.log', 'none', false) IS NOT NULL", REFUSE, REFUSE),
    ("SELECT set_config('session_replication_role', 'replica', false)", REFUSE, REFUSE),
    ("SELECT set_config('role', 'bob', false)", REFUSE, REFUSE),
    ("EXPLAIN SELECT set_config('application_name', 'x', false)", REFUSE, REFUSE),
    ("DO $$ BEGIN PERFORM set_config('application_name', 'x', false); END $$", REFUSE, REFUSE),
    ("DO $$ BEGIN SET pgaudit.log = 'none'; END $$", REFUSE, REFUSE),
    ("DO $$ BEGIN EXECUTE 'SET application_name = ''x'''; END $$", REFUSE, REFUSE),
    (
        "DO $$ DECLARE v text; BEGIN v := set_config('application_name', 'x', false); END $$",
        REFUSE,
        REFUSE,
    ),
    ("COPY t FROM PROGRAM 'id'", REFUSE, REFUSE),
    ("ALTER SYSTEM SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("ALTER SYSTEM SET work_mem = '1GB'", REFUSE, REFUSE),
    ("ALTER SYSTEM RESET ALL", REFUSE, REFUSE),
    ("LOAD 'auto_explain'", REFUSE, REFUSE),
    ("ALTER ROLE bob SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("ALTER USER bob SET pgaudit.log TO DEFAULT", REFUSE, REFUSE),
    ("ALTER ROLE bob RESET pgaudit.log", REFUSE, REFUSE),
    ("ALTER ROLE ALL SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("ALTER ROLE bob IN DATABASE d SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("ALTER ROLE bob RESET ALL", REFUSE, REFUSE),
    ("ALTER DATABASE d SET pgaudit.log = 'none'", REFUSE, REFUSE),
    ("ALTER FUNCTION f() SET pgaudit.log = 'none'", REFUSE, REFUSE),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET application_name = 'x' AS 'select 1'",
        REFUSE,
        REFUSE,
    ),
    (
        "CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$BEGIN "
        "SET application_name='innocent'; DELETE FROM t; RETURN 1; END$$",
        REFUSE,
        REFUSE,
    ),
    (
        "CREATE OR REPLACE FUNCTION h() RETURNS void LANGUAGE sql "
        "AS $$SELECT set_config('pgaudit.log', 'none', false)$$",
        REFUSE,
        REFUSE,
    ),
    (
        "CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$BEGIN "
        "EXECUTE 'RESET ALL'; RETURN 1; END$$",
        REFUSE,
        REFUSE,
    ),
    # a set_config() whose name is computed: at least confirmed
    ("SELECT set_config(name, 'x', false) FROM names", CONFIRM, CONFIRM),
    ("SELECT set_config('applic' || 'ation_name', 'x', false)", CONFIRM, CONFIRM),
    ("SELECT set_config('search_path', 'app', false)", RUN, RUN),
    # two-phase commit acts on other transactions
    ("COMMIT PREPARED 'tx1'", CONFIRM, CONFIRM),
    # other utilities
    ("LISTEN ch", RUN, RUN),
    ("NOTIFY ch, 'x'", REFUSE, RUN),
    ("DISCARD PLANS", RUN, RUN),
    ("", RUN, RUN),
    ("-- only a comment", RUN, RUN),
]


@pytest.mark.parametrize(("sql", "read_only", "write"), TABLE, ids=[t[0][:60] for t in TABLE])
def test_policy_table(sql: str, read_only: Action, write: Action) -> None:
    for mode, expected in ((Mode.READ_ONLY, read_only), (Mode.WRITE, write)):
        c, d = evaluate(sql, mode)
        assert d.action is expected, (mode, c, d)
        if d.action is not Action.RUN:
            assert d.reasons, "a refusal or confirmation must say why"


# -- evasions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SET U&\"applic\\0061tion_name\" = 'x'",
        "set/**/application_name='x'",
        "SET\napplication_name\n=\n'x'",
        "/* SET application_name */ SET application_name = 'x'",
        "SELECT set_config('pgaudit.log', 'none', false) -- harmless",
        "DO $body$ BEGIN PERFORM pg_catalog.set_config('pgaudit.log', 'none', true); END $body$",
        "DO $a$ BEGIN EXECUTE $b$SET application_name = 'x'$b$; END $a$",
        "DO $$ BEGIN DO $x$ BEGIN PERFORM set_config('application_name', 'y', false); END $x$; "
        "END $$",
        "SELECT 1; RESET ALL",
    ],
)
def test_audit_evasions_are_refused_in_both_modes(sql: str) -> None:
    for mode in Mode:
        _, d = evaluate(sql, mode)
        assert d.action is Action.REFUSE, (sql, mode, d)


def test_backslash_in_e_string_does_not_hide_a_drop() -> None:
    # E'\\' is one backslash: the quote after it closes the string, so DROP is real SQL.
    sql = "SELECT E'\\\\'; DROP TABLE t"
    c = classify(sql)
    assert "multi_statement" in c.flags
    assert "DROP TABLE" in c.reasons[-1]
    assert evaluate(sql, Mode.WRITE)[1].action is Action.CONFIRM
    assert evaluate(sql, Mode.READ_ONLY)[1].action is Action.REFUSE


def test_escaped_quote_in_e_string_keeps_a_drop_inside_the_string() -> None:
    # E'\';' is one string holding a quote and a semicolon: nothing but a SELECT runs.
    c, d = evaluate("SELECT E'\\';DROP TABLE t;'", Mode.WRITE)
    assert (c.command, d.action) == ("SELECT", Action.RUN)


def test_delete_in_a_cte_is_a_write_on_its_target() -> None:
    c, d = evaluate("WITH gone AS (DELETE FROM public.orders RETURNING id) SELECT 1", Mode.WRITE)
    assert c.kind == "write"
    assert c.objects == ("public.orders",)
    assert d.reasons == ("DELETE without a condition on public.orders",)
    assert d.confirm_object == "public.orders"


def test_do_body_with_nested_dollar_quotes_is_inspected() -> None:
    sql = "DO $body$ BEGIN EXECUTE $q$DELETE FROM t$q$; END $body$"
    c, d = evaluate(sql, Mode.WRITE)
    assert {"unconditional", "writes", "opaque"} <= c.flags
    assert d.action is Action.CONFIRM
    assert evaluate(sql, Mode.READ_ONLY)[1].action is Action.REFUSE


# -- decisions in detail -----------------------------------------------------------------


def test_read_only_refusal_says_how_to_switch() -> None:
    _, d = evaluate("DELETE FROM t WHERE id = 1", Mode.READ_ONLY)
    assert d.action is Action.REFUSE
    assert "--write" in d.reasons[0]


def test_confirmation_names_what_will_happen_and_the_object() -> None:
    _, d = evaluate("DELETE FROM public.orders", Mode.WRITE)
    assert d.reasons == ("DELETE without a condition on public.orders",)
    assert d.confirm_object == "public.orders"
    _, d = evaluate("DROP TABLE a, b", Mode.WRITE)
    assert d.confirm_object is None  # two objects: the shell asks for the ticket
    _, d = evaluate("SELECT pg_terminate_backend(1)", Mode.WRITE)
    assert d.confirm_object is None
    assert d.reasons == ("calls pg_terminate_backend()",)


def test_classification_fields() -> None:
    c = classify("DROP TABLE IF EXISTS public.orders, audit.log CASCADE")
    assert (c.kind, c.command) == ("ddl", "DROP TABLE")
    assert c.objects == ("public.orders", "audit.log")
    assert "destructive" in c.flags
    c = classify("SELECT * FROM public.orders o JOIN customers c ON c.id = o.cid")
    assert (c.kind, c.command, c.objects) == ("read", "SELECT", ("public.orders", "customers"))
    c = classify("not sql at all")
    assert (c.kind, c.command, c.flags) == ("unknown", "UNKNOWN", frozenset({"unparseable"}))
    assert classify("COPY t FROM '/tmp/x'").flags >= {"server_file", "copy_from"}
    assert classify("COPY t FROM PROGRAM 'x'").flags >= {"program"}


def test_config_adds_dangerous_functions_and_protected_settings() -> None:
    config = PolicyConfig(
        extra_dangerous_functions=frozenset({"app.purge_all"}),
        extra_protected_settings=frozenset({"search_path"}),
    )
    c = classify("SELECT app.purge_all()")
    assert decide(c, Mode.WRITE).action is Action.RUN
    assert decide(c, Mode.WRITE, config).action is Action.CONFIRM
    c = classify("SET search_path = evil")
    assert decide(c, Mode.WRITE, config).action is Action.REFUSE
    c = classify("SELECT set_config('search_path', 'evil', false)")
    assert decide(c, Mode.READ_ONLY, config).action is Action.REFUSE


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("REINDEX TABLE orders", "blocking writes"),
        ("REINDEX INDEX CONCURRENTLY orders_pkey", "concurrently: writes go on"),
        ("REINDEX (VERBOSE) TABLE CONCURRENTLY orders", "concurrently: writes go on"),
    ],
)
def test_reindex_says_whether_it_blocks_writes(sql: str, says: str) -> None:
    _c, d = evaluate(sql, Mode.WRITE, PolicyConfig())
    assert d.action is Action.CONFIRM
    assert any(says in reason for reason in d.reasons)
