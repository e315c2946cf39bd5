from __future__ import annotations

import pytest

from prodsql.session.posture import ALL_CLASSES, Posture, effective_classes, judge


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("all", ALL_CLASSES),
        ("none", frozenset()),
        ("read, write", {"read", "write"}),
        ("ALL, -misc", ALL_CLASSES - {"misc"}),
        ("all,-misc,-misc_set", ALL_CLASSES - {"misc", "misc_set"}),
        ("read,write,none,ddl", {"ddl"}),
        ("  ", frozenset()),
        ("bogus, read", {"read"}),
    ],
)
def test_effective_classes(setting: str, expected: frozenset[str]) -> None:
    assert effective_classes(setting) == expected


def posture(**kw: object) -> Posture:
    base: dict[str, object] = {
        "pgaudit_log": "all",
        "log_client": "off",
        "log_level": "log",
        "log_parameter": "off",
        "log_relation": "off",
        "log_statement": "on",
        "log_statement_once": "off",
        "audit_role": "",
        "extension_version": "1.7",
        "backend_pid": 1,
        "server_session_id": "a.b",
        "db_user": "dev",
        "session_user": "dev",
        "dbname": "postgres",
        "superuser": False,
        "server_version": "15",
        "application_name": "prodsql:x",
        "read_only": True,
    }
    base.update(kw)
    return Posture(**base)  # type: ignore[arg-type]


def test_posture_ok() -> None:
    assert judge(posture(), ["read", "write"]).ok


def test_missing_classes_give_fix_sql() -> None:
    v = judge(posture(pgaudit_log="ddl"), ["read", "write", "ddl"])
    assert not v.ok
    assert v.missing == {"read", "write"}
    assert "ALTER ROLE \"dev\" SET pgaudit.log = 'ddl, read, write';" in v.fix_sql


def test_not_loaded_and_no_extension() -> None:
    v = judge(posture(pgaudit_log=None, extension_version=None), ["read"])
    assert not v.ok
    assert any("shared_preload_libraries" in p for p in v.problems)
    assert "CREATE EXTENSION pgaudit;" in v.fix_sql


def test_statement_text_off_and_client_only_logging() -> None:
    assert not judge(posture(log_statement="off"), ["read"]).ok
    assert not judge(posture(log_client="on", log_level="notice"), ["read"]).ok
    assert judge(posture(log_client="on", log_level="log"), ["read"]).ok


def test_from_row() -> None:
    row = [
        "all",
        "off",
        "log",
        "off",
        "off",
        "on",
        "off",
        "",
        "1.7",
        "42",
        "6543.2a",
        "dev",
        "dev",
        "postgres",
        "t",
        "15.18",
        "prodsql:x",
        "on",
    ]
    p = Posture.from_row(row)
    assert p.backend_pid == 42
    assert p.superuser
    assert p.read_only
    assert p.as_record()["classes"] == sorted(ALL_CLASSES)


def test_break_glass_requires_log_parameter_and_names_all() -> None:
    every = sorted(ALL_CLASSES)
    weak = posture(pgaudit_log="read, write", log_parameter="off")
    v = judge(weak, every, require_log_parameter=True)
    assert not v.ok
    assert "ALTER ROLE \"dev\" SET pgaudit.log = 'all';" in v.fix_sql
    assert 'ALTER ROLE "dev" SET pgaudit.log_parameter = on;' in v.fix_sql
    assert judge(weak, ["read", "write"]).ok  # not asked for: not required
    strong = posture(pgaudit_log="all", log_parameter="on")
    assert judge(strong, every, require_log_parameter=True).ok


def test_identity_checks() -> None:
    assert not judge(posture(db_user="other"), ["read"]).ok
    v = judge(posture(application_name="x"), ["read"], expect_application_name="prodsql:x")
    assert not v.ok
    assert judge(posture(), ["read"], expect_application_name="prodsql:x").ok
    assert not judge(posture(read_only=False), ["read"], expect_read_only=True).ok
    assert judge(posture(read_only=False), ["read"]).ok
    assert not judge(posture(log_min_messages="fatal"), ["read"]).ok
