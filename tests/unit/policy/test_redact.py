"""Secrets in statements: what the trail records instead, what pgAudit logs instead, and
reconcile matching the two (the real server's side is in tests/integration/test_secrets.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from prodsql.audit.logs import read_log_file
from prodsql.audit.reconcile import Category, Finding, Reconciler
from prodsql.audit.trails import alternate_digest, sent_digest, text_digest
from prodsql.policy import tag_statement
from prodsql.policy.redact import mentions_secret, pgaudit_cut, pgaudit_logged, redact
from prodsql.shell.history import carries_secret
from prodsql.trail import TrailWriter

R = "'<REDACTED>'"
TAG = "prodsql:abcd1234:seq=7"


@pytest.mark.parametrize(
    ("sql", "recorded"),
    [
        ("ALTER ROLE dev PASSWORD 'dev-password'", f"ALTER ROLE dev PASSWORD {R}"),
        (
            "alter user dev with encrypted password 'x'",
            f"alter user dev with encrypted password {R}",
        ),
        (
            "CREATE ROLE app LOGIN PASSWORD 'pw' VALID UNTIL 'infinity' CONNECTION LIMIT 3",
            f"CREATE ROLE app LOGIN PASSWORD {R} VALID UNTIL 'infinity' CONNECTION LIMIT 3",
        ),
        ("CREATE USER u PASSWORD E'it\\'s'", f"CREATE USER u PASSWORD {R}"),
        ("ALTER ROLE dev PASSWORD $p$it's$p$", f"ALTER ROLE dev PASSWORD {R}"),
        ("ALTER ROLE dev PASSWORD U&'d\\0061t'", f"ALTER ROLE dev PASSWORD {R}"),
        ("ALTER ROLE dev PASSWORD NULL", "ALTER ROLE dev PASSWORD NULL"),
        (
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password 'pw')",
            f"CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'bob', password {R})",
        ),
        (
            "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'pw', ADD passfile '/x')",
            f"ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password {R}, ADD passfile '/x')",
        ),
        (
            "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'h', password 'pw')",
            f"CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'h', password {R})",
        ),
        (
            "SELECT dblink_connect('c', 'host=h dbname=d password=pw user=u')",
            "SELECT dblink_connect('c', 'host=h dbname=d password=<REDACTED> user=u')",
        ),
        (
            "SELECT dblink_connect('c', 'host=h password = ''p w'' user=u')",
            "SELECT dblink_connect('c', 'host=h password = <REDACTED> user=u')",
        ),
        (
            "SELECT * FROM dblink('postgresql://u:pw@h/d', 'SELECT 1') AS t(x int)",
            "SELECT * FROM dblink('postgresql://u:<REDACTED>@h/d', 'SELECT 1') AS t(x int)",
        ),
        (
            "CREATE SUBSCRIPTION s CONNECTION 'host=h sslpassword=k password=pw' PUBLICATION p",
            "CREATE SUBSCRIPTION s CONNECTION "
            "'host=h sslpassword=<REDACTED> password=<REDACTED>' PUBLICATION p",
        ),
        (
            "UPDATE users SET password_hash = crypt('hunter2', gen_salt('bf')) WHERE id = 'u1'",
            f"UPDATE users SET password_hash = crypt({R}, gen_salt({R})) WHERE id = 'u1'",
        ),
        (
            "INSERT INTO creds (name, secret) VALUES ('a', 'x'), ('b', 'y')",
            f"INSERT INTO creds (name, secret) VALUES ('a', {R}), ('b', {R})",
        ),
        (
            "SELECT 1 FROM t WHERE t.api_secret = 'zzz' AND name = 'café'",
            f"SELECT 1 FROM t WHERE t.api_secret = {R} AND name = 'café'",
        ),
        ("SELECT set_password('x')", f"SELECT set_password({R})"),
        ("SELECT f(pwd => 'x', n => 'y')", f"SELECT f(pwd => {R}, n => 'y')"),
        (
            "DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''p'''; END $$",
            f"DO $$ BEGIN EXECUTE {R}; END $$",
        ),
        (
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $b$ALTER ROLE x PASSWORD 'p'$b$",
            f"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $b$ALTER ROLE x PASSWORD {R}$b$",
        ),
        (
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'ALTER ROLE x PASSWORD ''p'''",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql "
            "AS 'ALTER ROLE x PASSWORD ''<REDACTED>'''",
        ),
        # does not parse: every string literal goes, and what follows PASSWORD
        ("ALTER ROLE x PASSWORD 'a' 'b'", f"ALTER ROLE x PASSWORD {R} {R}"),
        ('ALTER ROLE x PASSWORD "ident"', f"ALTER ROLE x PASSWORD {R}"),
        # does not even lex: cut after the first word that names a secret
        ("ALTER ROLE x PASSWORD 'unterminated", "ALTER ROLE x PASSWORD <REDACTED>"),
    ],
)
def test_secrets_are_replaced_and_nothing_else(sql: str, recorded: str) -> None:
    hidden = redact(sql)
    assert hidden.text == recorded
    assert hidden.redacted is (recorded != sql)
    # The same redaction whether or not the statement carries its tag (reconcile
    # redacts the server's tagged line and compares it with the trail's ``sent``).
    assert redact(tag_statement(sql, TAG)).text == tag_statement(recorded, TAG)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "SELECT 'password'",
        "ALTER ROLE dev SET search_path = 'x'",
        'ALTER ROLE "Password_bot" CONNECTION LIMIT 3',
        "SELECT * FROM t WHERE password_changed_at > now()",
        "COMMENT ON COLUMN users.password IS 'bcrypt'",
    ],
)
def test_statements_without_a_secret_are_recorded_as_typed(sql: str) -> None:
    hidden = redact(sql)
    assert (hidden.text, hidden.redacted, hidden.secrets) == (sql, False, ())


def test_messages_are_scrubbed_of_the_secret() -> None:
    hidden = redact("ALTER ROLE x PASSWORD 'hunter2' 'hunter3'")
    message = "syntax error at or near \"'hunter3'\""
    assert hidden.scrub(message) == 'syntax error at or near "<REDACTED>"'
    assert "hunter2" not in hidden.scrub("value hunter2 rejected")
    cut = redact("ALTER ROLE x PASSWORD 'hunter4")
    assert cut.scrub('unterminated quoted string at or near "\'hunter4"') == (
        'unterminated quoted string at or near "<REDACTED>"'
    )
    assert redact("SELECT 1").scrub('at or near "x"') == 'at or near "x"'


def test_history_and_the_trail_look_for_the_same_words() -> None:
    for text in ("\\password alice", "ALTER ROLE a PASSWORD 'x'", "select 'postgres://u:p@h'"):
        assert carries_secret(text)
        assert mentions_secret(text)
    assert not carries_secret("SELECT 1")


# -- pgAudit's own redaction, as pgAudit 1.7.0 logged it on the sandbox -----------------


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        (
            "/* prodsql:abcd:seq=2 */ ALTER ROLE probe1 WITH ENCRYPTED PASSWORD 'Sekr1t-two'",
            "/* prodsql:abcd:seq=2 */ ALTER ROLE probe1 WITH ENCRYPTED PASSWORD <REDACTED>",
        ),
        (
            "/* prodsql:abcd:seq=1 */ CREATE ROLE probe1 LOGIN PASSWORD 'x' VALID UNTIL 'infinity'",
            "/* prodsql:abcd:seq=1 */ CREATE ROLE probe1 LOGIN PASSWORD <REDACTED>",
        ),
        (
            "/* prodsql:abcd:seq=3 */ ALTER USER probe1 PASSWORD NULL",
            "/* prodsql:abcd:seq=3 */ ALTER USER probe1 PASSWORD <REDACTED>",
        ),
        (
            "/* prodsql:abcd:seq=4 */ alter role probe1 password 'x'",
            "/* prodsql:abcd:seq=4 */ alter role probe1 password <REDACTED>",
        ),
        (
            "/* prodsql:abcd:seq=11 */ ALTER ROLE probe1 VALID UNTIL '2030-01-01' PASSWORD 'x'",
            "/* prodsql:abcd:seq=11 */ ALTER ROLE probe1 VALID UNTIL '2030-01-01' "
            "PASSWORD <REDACTED>",
        ),
        (  # the first "password" anywhere, even in a role's name, with no password at all
            '/* prodsql:abcd:seq=14 */ CREATE ROLE "Password_bot"',
            '/* prodsql:abcd:seq=14 */ CREATE ROLE "Password <REDACTED>',
        ),
        (
            "/* prodsql:abcd:seq=16 */ ALTER ROLE probe1b\n  PASSWORD\n 'x'",
            "/* prodsql:abcd:seq=16 */ ALTER ROLE probe1b\n  PASSWORD <REDACTED>",
        ),
    ],
)
def test_pgaudit_cut_reproduces_what_pgaudit_logged(sent: str, logged: str) -> None:
    assert pgaudit_cut(sent) == logged
    text = sent.split("*/ ", 1)[1]
    assert pgaudit_logged(text, sent) == logged
    # The redacted form the trail records cuts to the same line: nothing after it counts.
    assert pgaudit_cut(redact(sent).text) == logged


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER ROLE dev SET search_path = 'password'",  # AlterRoleSetStmt: logged whole
        "SELECT dblink_connect('password=x')",
        "ALTER ROLE x PASSWORD 'a' 'b'",  # never logged: it does not parse
        "ALTER ROLE x CONNECTION LIMIT 1",
    ],
)
def test_pgaudit_logs_other_statements_whole(sql: str) -> None:
    assert pgaudit_logged(sql, sql) is None


# -- reconcile ------------------------------------------------------------------------


SID, SERVER, PID = "feed0001", "6b090000.1a2b", 6699


def write_trail(directory: Path, texts: list[str], *, forge: str | None = None) -> Path:
    """A trail as the runner writes it: each text redacted, with pgAudit's form."""
    w = TrailWriter.create(directory, session_id=SID, ticket="OPS-1")
    w.append("session_start", {"application_name": f"prodsql:OPS-1:root:{SID}"})
    w.append("connected", {"backend_pid": PID, "server_session_id": SERVER, "db_user": "dev"})
    for number, text in enumerate(texts, start=1):
        tag = f"prodsql:{SID}:seq={number}"
        hidden = redact(text)
        sent = tag_statement(hidden.text, tag)
        fields: dict[str, object] = {"stmt": number, "source": "-c", "text": hidden.text}
        fields |= {"sent": sent, "redacted": hidden.redacted, "tag": tag}
        logged_as = pgaudit_logged(text, sent)
        if logged_as is not None:
            fields["logged_as"] = forge or logged_as
        fields["classification"] = {"kind": "privilege", "command": "ALTER ROLE"}
        w.append("statement", fields)
        w.append("outcome", {"stmt": number, "status": "ok", "txn_status": "idle"})
    w.close("completed", {"statements": len(texts)})
    return w.path


def write_log(path: Path, statements: list[str]) -> Path:
    """A jsonlog with one AUDIT line per statement, logged as given."""
    lines = []
    for number, statement in enumerate(statements, start=1):
        out = io.StringIO()
        fields = ["SESSION", number, 1, "ROLE", "ALTER ROLE", "", "", statement, "<not logged>"]
        csv.writer(out, lineterminator="").writerow(fields)
        message = "AUDIT: " + out.getvalue()
        entry = {
            "timestamp": "2026-11-27 04:26:56.000 UTC",
            "user": "dev",
            "dbname": "postgres",
            "pid": PID,
            "session_id": SERVER,
            "line_num": number,
            "error_severity": "LOG",
            "message": message,
            "application_name": f"prodsql:OPS-1:root:{SID}",
            "backend_type": "client backend",
        }
        lines.append(json.dumps(entry) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def findings(trail: Path, log: Path, *, background: bool) -> list[Finding]:
    rec = Reconciler()
    if background:  # the trail read by a worker process: alternates travel as JSON
        rec.add_trails([trail])
    else:
        rec.add_trail(trail)
    rec.feed(read_log_file(log, rec.problems))
    rec.finish()
    return [f for f in rec.findings() if f.category is not Category.EXPECTED_ABSENT]


def tagged(number: int, text: str) -> str:
    return tag_statement(text, f"prodsql:{SID}:seq={number}")


@pytest.mark.parametrize("background", [False, True])
def test_reconcile_matches_whichever_form_the_server_logged(
    tmp_path: Path, background: bool
) -> None:
    texts = [
        "ALTER ROLE dev PASSWORD 'pw1'",
        "CREATE USER MAPPING FOR dev SERVER s OPTIONS (user 'u', password 'pw2')",
        "CREATE USER MAPPING FOR ops SERVER s OPTIONS (user 'u', password 'pw3')",
        "SELECT dblink_connect('c', 'host=h password=pw4')",
    ]
    trail = write_trail(tmp_path / "trails", texts)
    logged = [
        pgaudit_cut(tagged(1, texts[0])) or "",  # every pgAudit: cut after "password"
        pgaudit_cut(tagged(2, texts[1])) or "",  # pgAudit with PR #197: cut as well
        tagged(3, texts[2]),  # pgAudit 1.7.0: the whole statement, secret and all
        tagged(4, texts[3]),  # dblink: always whole
    ]
    result = findings(trail, write_log(tmp_path / "x.json", logged), background=background)
    assert [(f.category, f.stmt) for f in result] == [(Category.MATCHED, n) for n in range(1, 5)]
    assert all("pw" not in f.text for f in result)


@pytest.mark.parametrize("background", [False, True])
def test_a_redacted_statement_that_is_not_what_ran_is_still_a_text_mismatch(
    tmp_path: Path, background: bool
) -> None:
    texts = [
        "ALTER ROLE dev PASSWORD 'pw1'",
        "SELECT dblink_connect('c', 'host=h password=pw4')",
        "CREATE USER MAPPING FOR dev SERVER s OPTIONS (user 'u', password 'pw2')",
    ]
    trail = write_trail(tmp_path / "trails", texts)
    logged = [
        pgaudit_cut(tagged(1, "ALTER ROLE admin PASSWORD 'x'")) or "",
        tagged(2, "SELECT dblink_connect('c', 'host=other password=pw4')"),
        tagged(3, "CREATE USER MAPPING FOR dev SERVER s OPTIONS (user 'root', password 'pw2')"),
    ]
    result = findings(trail, write_log(tmp_path / "x.json", logged), background=background)
    assert [(f.category, f.stmt) for f in result] == [
        (Category.TEXT_MISMATCH, n) for n in range(1, 4)
    ]
    first = result[0]
    assert first.trail_text == f"/* prodsql:{SID}:seq=1 */ ALTER ROLE dev PASSWORD <REDACTED>"
    assert first.server_text == f"/* prodsql:{SID}:seq=1 */ ALTER ROLE admin PASSWORD <REDACTED>"


def test_a_logged_as_that_is_not_pgaudits_cut_of_sent_matches_nothing(tmp_path: Path) -> None:
    forged = f"/* prodsql:{SID}:seq=1 */ ALTER ROLE admin PASSWORD <REDACTED>"
    trail = write_trail(tmp_path / "trails", ["ALTER ROLE dev PASSWORD 'pw'"], forge=forged)
    [record] = [r for r in map(json.loads, trail.read_text().splitlines()) if r.get("sent")]
    assert sent_digest(record) != text_digest(forged)
    assert alternate_digest(record) is None
    result = findings(trail, write_log(tmp_path / "x.json", [forged]), background=False)
    assert [(f.category, f.stmt) for f in result] == [(Category.TEXT_MISMATCH, 1)]
    assert "is not the text it records as sent" in result[0].why
