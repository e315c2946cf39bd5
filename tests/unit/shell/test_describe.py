"""``\\d NAME`` without a server: the pattern, the queries built from it, and psql's layout
built from catalog answers (captured from a PostgreSQL 15 server, the expected text from
psql 15 for the same objects)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from prodsql.policy import Mode
from prodsql.result import Result
from prodsql.shell import describe
from prodsql.shell import describe_format as fmt
from prodsql.shell.app import Shell, ShellOptions
from prodsql.shell.describe import NamePattern, Relation, parse_pattern

# -- catalog answers for a table and a sequence, as the server sent them -----------------
ACCOUNTS_ROW: tuple[str, ...] = ("16394", "shop", "accounts", "r", "p", "2", "t", "f", "t")
ACCOUNTS_ROW += ("t", "f", "f", "0", "", "150018")
ACCOUNTS_COLUMNS = [
    ("id", "bigint", None, "t", None, "a", ""),
    ("email", "text", None, "t", None, "", ""),
    ("name", "character varying(80)", None, "f", "C", "", ""),
    ("balance", "numeric(12,2)", "0", "t", None, "", ""),
    ("cents", "bigint", "(balance * 100::numeric)::bigint", "f", None, "", "s"),
    ("status", "text", "'active'::text", "f", None, "", ""),
    ("created", "timestamp with time zone", "now()", "t", None, "", ""),
]


def index_row(name: str, indexdef: str, **kw: Any) -> dict[str, Any]:
    """One entry of the footer JSON's "indexes" (a plain, valid index unless told)."""
    row: dict[str, Any] = {"name": name, "indexdef": indexdef, "replident": False}
    row |= {"primary": False, "unique": False, "clustered": False, "valid": True}
    row |= {"condef": None, "contype": None, "deferrable": None, "deferred": None}
    return row | {"tablespace": None} | kw


ACCOUNTS_FOOTERS = {
    "indexes": [
        index_row(
            "accounts_pkey",
            "CREATE UNIQUE INDEX accounts_pkey ON shop.accounts USING btree (id)",
            primary=True,
            unique=True,
            condef="PRIMARY KEY (id)",
            contype="p",
            deferrable=False,
            deferred=False,
        ),
        index_row(
            "accounts_active",
            "CREATE INDEX accounts_active ON shop.accounts USING btree (created) "
            "WHERE status = 'active'::text",
        ),
        index_row(
            "accounts_email_key",
            "CREATE UNIQUE INDEX accounts_email_key ON shop.accounts USING btree (email)",
            unique=True,
            condef="UNIQUE (email)",
            contype="u",
            deferrable=False,
            deferred=False,
        ),
        index_row(
            "accounts_lower_email",
            "CREATE INDEX accounts_lower_email ON shop.accounts USING btree (lower(email)) "
            "INCLUDE (name)",
        ),
    ],
    "checks": [
        {"name": "accounts_balance_check", "def": "CHECK (balance >= 0::numeric)"},
        {"name": "name_len", "def": "CHECK (char_length(name::text) > 1)"},
    ],
    "foreign_keys": None,
    "referenced_by": [
        {
            "name": "orders_account_id_fkey",
            "ontable": "shop.orders",
            "def": "FOREIGN KEY (account_id) REFERENCES shop.accounts(id) ON DELETE CASCADE",
        }
    ],
    "policies": [
        {
            "name": "own",
            "permissive": True,
            "roles": "dev",
            "using": "(email = CURRENT_USER)",
            "check": None,
            "cmd": "SELECT",
        },
        {
            "name": "strict",
            "permissive": False,
            "roles": None,
            "using": "(status <> 'x'::text)",
            "check": "true",
            "cmd": None,
        },
    ],
    "statistics": None,
    "publications": None,
    "triggers": [
        {
            "name": "accounts_off",
            "def": "CREATE TRIGGER accounts_off AFTER INSERT ON shop.accounts FOR EACH ROW "
            "EXECUTE FUNCTION shop.touch()",
            "enabled": "D",
            "internal": False,
            "parent": None,
        },
        {
            "name": "accounts_touch",
            "def": "CREATE TRIGGER accounts_touch BEFORE UPDATE ON shop.accounts FOR EACH ROW "
            "EXECUTE FUNCTION shop.touch()",
            "enabled": "O",
            "internal": False,
            "parent": None,
        },
    ],
    "inherits": None,
    "children": 0,
}

# psql 15's \d shop.accounts for the same catalog (-X -P pager=off).
PSQL_ACCOUNTS = "\n".join(
    [
        " " * 51 + 'Table "shop.accounts"',
        " Column  |           Type           | Collation | Nullable |"
        "                            Default                            ",
        "---------+--------------------------+-----------+----------+"
        "---------------------------------------------------------------",
        " id      | bigint                   |           | not null | generated always as identity",
        " email   | text                     |           | not null | ",
        " name    | character varying(80)    | C         |          | ",
        " balance | numeric(12,2)            |           | not null | 0",
        " cents   | bigint                   |           |          |"
        " generated always as ((balance * 100::numeric)::bigint) stored",
        " status  | text                     |           |          | 'active'::text",
        " created | timestamp with time zone |           | not null | now()",
        "Indexes:",
        '    "accounts_pkey" PRIMARY KEY, btree (id)',
        "    \"accounts_active\" btree (created) WHERE status = 'active'::text",
        '    "accounts_email_key" UNIQUE CONSTRAINT, btree (email)',
        '    "accounts_lower_email" btree (lower(email)) INCLUDE (name)',
        "Check constraints:",
        '    "accounts_balance_check" CHECK (balance >= 0::numeric)',
        '    "name_len" CHECK (char_length(name::text) > 1)',
        "Referenced by:",
        '    TABLE "shop.orders" CONSTRAINT "orders_account_id_fkey" FOREIGN KEY (account_id)'
        " REFERENCES shop.accounts(id) ON DELETE CASCADE",
        "Policies:",
        '    POLICY "own" FOR SELECT',
        "      TO dev",
        "      USING ((email = CURRENT_USER))",
        '    POLICY "strict" AS RESTRICTIVE',
        "      USING ((status <> 'x'::text))",
        "      WITH CHECK (true)",
        "Triggers:",
        "    accounts_touch BEFORE UPDATE ON shop.accounts FOR EACH ROW"
        " EXECUTE FUNCTION shop.touch()",
        "Disabled user triggers:",
        "    accounts_off AFTER INSERT ON shop.accounts FOR EACH ROW EXECUTE FUNCTION shop.touch()",
        "",
        "",
    ]
)

SEQ_ROW: tuple[str, ...] = ("16411", "shop", "orders_id_seq", "S", "p", "0", "f", "f", "f")
SEQ_ROW += ("f", "f", "f", "0", "", "150018")
SEQ_TABLE = Result(
    ["Type", "Start", "Minimum", "Maximum", "Increment", "Cycles?", "Cache"],
    [25, 20, 20, 20, 20, 25, 20],
    [("integer", "1", "1", "2147483647", "1", "no", "1")],
    "SELECT 1",
    1,
    True,
)
SEQ_FOOTERS = {"owned_by": [{"column": "shop.orders.id", "deptype": "a"}]}
PSQL_SEQ = "\n".join(
    [
        " " * 20 + 'Sequence "shop.orders_id_seq"',
        "  Type   | Start | Minimum |  Maximum   | Increment | Cycles? | Cache ",
        "---------+-------+---------+------------+-----------+---------+-------",
        " integer |     1 |       1 | 2147483647 |         1 | no      |     1",
        "Owned by: shop.orders.id",
        "",
        "",
    ]
)
# psql 15 with \x on: a sequence only (\d turns expanded display off for the rest).
PSQL_SEQ_EXPANDED = """\
Sequence "shop.orders_id_seq"
-[ RECORD 1 ]---------
Type      | integer
Start     | 1
Minimum   | 1
Maximum   | 2147483647
Increment | 1
Cycles?   | no
Cache     | 1

Owned by: shop.orders.id

"""


def columns_result(rows: list[tuple[Any, ...]]) -> Result:
    return Result(["a"] * len(rows[0]), [25] * len(rows[0]), rows, "SELECT", len(rows), True)


def rel(kind: str = "r", **kw: Any) -> Relation:
    return Relation(1, "shop", "t", kind, **kw)


# -- patterns ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("accounts", NamePattern("^(accounts)$")),
        ("Accounts", NamePattern("^(accounts)$")),  # unquoted: folded, as SQL does
        ('"Accounts"', NamePattern("^(Accounts)$")),
        ('"Mixed Case"', NamePattern(r"^(Mixed\ Case)$")),
        ('"a.b"', NamePattern(r"^(a\.b)$")),  # a dot inside quotes is not a separator
        ('"say ""hi"""', NamePattern(r'^(say\ "hi")$')),
        ("shop.accounts", NamePattern("^(accounts)$", "^(shop)$", schema_given=True)),
        ("*.accounts", NamePattern("^(accounts)$", None, schema_given=True, wildcard=True)),
        (".accounts", NamePattern("^(accounts)$", "^()$", schema_given=True)),
        ("acc*", NamePattern("^(acc.*)$", wildcard=True)),
        ("acc?nts", NamePattern("^(acc.nts)$", wildcard=True)),
        ('"acc*"', NamePattern(r"^(acc\*)$")),  # quoted: a star is a star
        ("foo(", NamePattern(r"^(foo\()$")),  # never an invalid regex on the server
        ("a$|b", NamePattern(r"^(a\$\|b)$")),
        ("", NamePattern("^()$")),
        (
            "Prod.shop.accounts",
            NamePattern("^(accounts)$", "^(shop)$", schema_given=True, database="prod"),
        ),
    ],
)
def test_patterns_are_read_as_psql_reads_them(pattern: str, expected: NamePattern) -> None:
    assert parse_pattern(pattern) == expected


def test_too_many_dots_is_psqls_error() -> None:
    with pytest.raises(describe.PatternError, match=r"too many dotted names\): a.b.c.d"):
        parse_pattern("a.b.c.d")


def test_arguments_split_outside_quotes_and_wildcards_outside_quotes() -> None:
    assert describe.split_args(' a  "b c"  shop."D E" ') == ["a", '"b c"', 'shop."D E"']
    assert describe.has_wildcard("acc*")
    assert describe.has_wildcard("*.accounts")
    assert not describe.has_wildcard('"acc*"')
    assert not describe.has_wildcard("a.b.c.d")


# -- queries -----------------------------------------------------------------------------
def test_an_unqualified_name_is_looked_up_among_visible_relations() -> None:
    sql = describe.find_relations("Accounts")
    assert "c.relname OPERATOR(pg_catalog.~) '^(accounts)$'" in sql
    assert "pg_catalog.pg_table_is_visible(c.oid)" in sql
    assert "relkind IN" not in sql  # any kind: indexes, sequences, composite types ...
    qualified = describe.find_relations("shop.accounts")
    assert "n.nspname OPERATOR(pg_catalog.~) '^(shop)$'" in qualified
    assert "pg_table_is_visible" not in qualified
    assert "current_database() = 'prod'" in describe.find_relations("prod.shop.accounts")


@pytest.mark.parametrize("pattern", ["it's", "a'; DROP TABLE x; --", "\\", "foo(", '"x""y'])
def test_a_pattern_stays_inside_its_string_literal(pattern: str) -> None:
    sql = describe.find_relations(pattern)
    literals = re.findall(r"'(?:[^']|'')*'", sql)
    outside = re.sub(r"'(?:[^']|'')*'", "''", sql)
    assert "DROP" not in outside
    assert any("^(" in lit for lit in literals)


def test_relation_header_row_is_parsed() -> None:
    r = Relation.from_row(ACCOUNTS_ROW)
    assert (r.oid, r.schema, r.name, r.kind, r.checks) == (16394, "shop", "accounts", "r", 2)
    assert (r.has_index, r.has_rules, r.has_triggers, r.row_security) == (True, False, True, True)
    assert (r.force_row_security, r.is_partition, r.server_version) == (False, False, 150018)
    with pytest.raises(ValueError, match="invalid literal"):
        Relation.from_row(("1; DROP", *ACCOUNTS_ROW[1:]))  # an OID is a number or nothing


def test_column_queries_follow_the_relation_kind() -> None:
    table = describe.relation_columns(rel("r"))
    assert "a.attidentity" in table
    assert "a.attgenerated" in table
    assert "indnkeyatts" not in table
    index = describe.relation_columns(rel("i"))
    assert "indnkeyatts" in index
    assert "a.attidentity" not in index
    assert "attfdwoptions" in describe.relation_columns(rel("f"))
    assert "FROM pg_catalog.pg_sequence WHERE seqrelid = '1'" in describe.relation_columns(rel("S"))


def test_footer_sections_are_those_psql_asks_for() -> None:
    assert describe.relation_footers(rel("v")) is None  # a view: no footer, no query
    assert describe.relation_footers(rel("c")) is None
    view = describe.relation_footers(rel("v", has_triggers=True))
    assert view is not None
    assert "'triggers'" in view
    table = describe.relation_footers(
        rel("r", has_index=True, checks=1, has_triggers=True, has_rules=True)
    )
    assert table is not None
    for key in ("indexes", "checks", "foreign_keys", "referenced_by", "policies", "rules"):
        assert f"'{key}'" in table
    plain = describe.relation_footers(rel("r"))
    assert plain is not None
    assert "'indexes'" not in plain
    assert "'foreign_keys'" not in plain
    partitioned = describe.relation_footers(rel("p"))
    assert partitioned is not None
    assert "pg_get_partkeydef" in partitioned
    assert "pg_partition_ancestors" in partitioned  # its foreign keys, even without triggers
    assert "'owned_by'" in (describe.relation_footers(rel("S")) or "")
    assert "'index'" in (describe.relation_footers(rel("i")) or "")
    assert "pg_tablespace" in (describe.relation_footers(rel("r", tablespace=1663)) or "")


def test_footer_queries_ask_older_servers_only_what_they_have() -> None:
    full = rel("r", is_partition=True)
    new = describe.relation_footers(full) or ""
    assert "pg_publication_namespace" in new
    assert "inhdetachpending" in new
    old_server = Relation(1, "s", "t", "r", is_partition=True, server_version=130011)
    old = describe.relation_footers(old_server) or ""
    assert "pg_publication_namespace" not in old
    assert "inhdetachpending" not in old
    assert "pg_statistic_ext" not in old  # psql 15 lays out only the v14+ form
    index = describe.relation_footers(Relation(1, "s", "t", "i", server_version=140005)) or ""
    assert "indnullsnotdistinct" not in index


# -- layout ------------------------------------------------------------------------------
def test_a_table_looks_exactly_like_psqls() -> None:
    r = Relation.from_row(ACCOUNTS_ROW)
    d = fmt.describe(r, columns_result(ACCOUNTS_COLUMNS), json.dumps(ACCOUNTS_FOOTERS))
    assert d.aligned() == PSQL_ACCOUNTS


def test_a_sequence_looks_exactly_like_psqls_also_expanded() -> None:
    r = Relation.from_row(SEQ_ROW)
    d = fmt.describe(r, SEQ_TABLE, json.dumps(SEQ_FOOTERS))
    assert d.aligned() == PSQL_SEQ
    assert d.aligned(expanded=True) == PSQL_SEQ_EXPANDED


def test_csv_and_json_get_the_table_alone() -> None:
    d = fmt.describe(Relation.from_row(SEQ_ROW), SEQ_TABLE, json.dumps(SEQ_FOOTERS))
    result = d.as_result()
    assert result.columns[0] == "Type"
    assert result.rows == [("integer", "1", "1", "2147483647", "1", "no", "1")]
    assert result.type_oids[1] == 20  # numbers stay numbers in JSON


@pytest.mark.parametrize(
    ("kind", "persistence", "expected"),
    [
        ("r", "p", 'Table "shop.t"'),
        ("r", "u", 'Unlogged table "shop.t"'),
        ("v", "p", 'View "shop.t"'),
        ("m", "p", 'Materialized view "shop.t"'),
        ("S", "u", 'Unlogged sequence "shop.t"'),
        ("i", "p", 'Index "shop.t"'),
        ("I", "p", 'Partitioned index "shop.t"'),
        ("p", "p", 'Partitioned table "shop.t"'),
        ("f", "p", 'Foreign table "shop.t"'),
        ("c", "p", 'Composite type "shop.t"'),
        ("t", "p", 'TOAST table "shop.t"'),
    ],
)
def test_titles(kind: str, persistence: str, expected: str) -> None:
    assert fmt.title(rel(kind, persistence=persistence)) == expected


def test_the_title_is_centred_or_left_alone_when_wider() -> None:
    assert fmt.render("T", ["abcdefg"], ["l"], [], []) == "    T\n abcdefg \n---------\n\n"
    wide = fmt.render("A very long title", ["a"], ["l"], [["x"]], ["Foot"])
    assert wide == "A very long title\n a \n---\n x\nFoot\n\n"


def test_index_and_foreign_table_columns() -> None:
    headers, cells = fmt.column_table(rel("i"), [("id", "bigint", "yes", "id")])
    assert headers == ["Column", "Type", "Key?", "Definition"]
    assert cells == [["id", "bigint", "yes", "id"]]
    headers, cells = fmt.column_table(
        rel("f"), [("a", "integer", None, "f", None, "d", "", "(column_name 'aa')")]
    )
    assert headers[-1] == "FDW options"
    assert cells == [
        ["a", "integer", "", "", "generated by default as identity", "(column_name 'aa')"]
    ]


def test_index_footer_lines() -> None:
    rows = [
        index_row("x_excl", "", contype="x", condef="EXCLUDE USING gist (r WITH &&)"),
        index_row(
            "d",
            "CREATE UNIQUE INDEX d ON s.t USING btree (a, id)",
            unique=True,
            contype="u",
            deferrable=True,
            deferred=True,
        ),
        index_row(
            "u",
            "CREATE UNIQUE INDEX u ON s.t USING btree (a) NULLS NOT DISTINCT",
            unique=True,
            clustered=True,
            replident=True,
        ),
        index_row("bad", "CREATE INDEX bad ON s.t USING hash (a)", valid=False, tablespace="fast"),
    ]
    assert fmt.indexes(rows) == [
        "Indexes:",
        '    "x_excl" EXCLUDE USING gist (r WITH &&)',
        '    "d" UNIQUE CONSTRAINT, btree (a, id) DEFERRABLE INITIALLY DEFERRED',
        '    "u" UNIQUE, btree (a) NULLS NOT DISTINCT CLUSTER REPLICA IDENTITY',
        '    "bad" hash (a) INVALID, tablespace "fast"',
    ]


def test_the_footer_of_an_index_itself() -> None:
    base = {
        "primary": False,
        "unique": True,
        "nulls_not_distinct": True,
        "am": "btree",
        "table": "rid",
        "predicate": "a > 0",
        "clustered": True,
        "valid": False,
        "deferrable": True,
        "deferred": True,
        "replident": True,
    }
    assert fmt.index_footer(rel("i"), base) == (
        'unique nulls not distinct, btree, for table "shop.rid", predicate (a > 0), '
        "clustered, invalid, deferrable, initially deferred, replica identity"
    )
    lines = fmt.footers(
        rel("i", tablespace=5), {"index": [{**base, "primary": True}], "tablespace": "fast"}
    )
    assert lines[0].startswith('primary key, btree, for table "shop.rid"')
    assert lines[1] == 'Tablespace: "fast"'


@pytest.mark.parametrize(
    ("security", "force", "rows", "heading"),
    [
        (True, False, 1, "Policies:"),
        (True, True, 1, "Policies (forced row security enabled):"),
        (True, False, 0, "Policies (row security enabled): (none)"),
        (True, True, 0, "Policies (forced row security enabled): (none)"),
        (False, False, 1, "Policies (row security disabled):"),
        (False, False, 0, None),
    ],
)
def test_policy_headings(security: bool, force: bool, rows: int, heading: str | None) -> None:
    policy = {"name": "p", "permissive": True, "roles": None, "using": None, "check": None}
    r = rel("r", row_security=security, force_row_security=force)
    lines = fmt.policies(r, [{**policy, "cmd": None}] * rows)
    assert lines == ([heading] if heading else []) + ['    POLICY "p"'] * rows


def test_foreign_keys_statistics_rules_publications() -> None:
    data = {
        "foreign_keys": [
            {"sametable": True, "name": "own", "def": "FOREIGN KEY (a) REFERENCES b(id)"},
            {
                "sametable": False,
                "ontable": "parent",
                "name": "up",
                "def": "FOREIGN KEY (c) REFERENCES d(id)",
            },
        ],
        "statistics": [
            {
                "schema": "s",
                "name": "two",
                "ndistinct": True,
                "dependencies": True,
                "mcv": False,
                "columns": "id, v",
                "table": "t",
                "target": -1,
            },
            {
                "schema": "s",
                "name": "all",
                "ndistinct": True,
                "dependencies": True,
                "mcv": True,
                "columns": "id, v",
                "table": "t",
                "target": 50,
            },
        ],
        "rules": [
            {
                "name": "a",
                "def": "CREATE RULE a AS\n    ON INSERT TO t DO INSTEAD NOTHING",
                "enabled": "O",
            },
            {"name": "b", "def": "CREATE RULE b AS\n    ON UPDATE TO t DO NOTHING", "enabled": "D"},
        ],
        "publications": [
            {"name": "p1", "filter": "(id > 5)", "columns": None},
            {"name": "p2", "filter": None, "columns": "id"},
        ],
    }
    assert fmt.footers(rel("r"), data) == [
        "Foreign-key constraints:",
        '    "own" FOREIGN KEY (a) REFERENCES b(id)',
        '    TABLE "parent" CONSTRAINT "up" FOREIGN KEY (c) REFERENCES d(id)',
        "Statistics objects:",
        '    "s.two" (ndistinct, dependencies) ON id, v FROM t',
        '    "s.all" ON id, v FROM t; STATISTICS 50',
        "Rules:",
        "    a AS\n    ON INSERT TO t DO INSTEAD NOTHING",
        "Disabled rules:",
        "    b AS\n    ON UPDATE TO t DO NOTHING",
        "Publications:",
        '    "p1" WHERE (id > 5)',
        '    "p2" (id)',
    ]


def test_trigger_categories_and_inherited_triggers() -> None:
    def trig(name: str, enabled: str, internal: bool = False, parent: str | None = None) -> Any:
        tgdef = f"CREATE TRIGGER {name} AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()"
        return {"def": tgdef, "enabled": enabled, "internal": internal, "parent": parent}

    rows = [trig("a", "A"), trig("d", "D"), trig("i", "D", True), trig("o", "O", parent="p")]
    rows.append(trig("r", "R"))
    assert fmt.triggers(rows) == [
        "Triggers:",
        "    o AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f(), ON TABLE p",
        "Disabled user triggers:",
        "    d AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "Disabled internal triggers:",
        "    i AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "Triggers firing always:",
        "    a AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "Triggers firing on replica only:",
        "    r AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
    ]


def test_partitions_inheritance_and_the_rest() -> None:
    child = rel("p", is_partition=True, of_type="pair", tablespace=9)
    data = {
        "partition_of": [{"parent": "events", "bound": "DEFAULT", "detach_pending": True}],
        "partition_key": "LIST (id)",
        "inherits": [{"parent": "p1"}, {"parent": "p2"}],
        "children": 0,
        "tablespace": "fast",
    }
    assert fmt.footers(child, data) == [
        "Partition of: events DEFAULT DETACH PENDING",
        "Partition key: LIST (id)",
        "Inherits: p1,",
        "          p2",
        "Number of partitions: 0",
        "Typed table of type: pair",
        'Tablespace: "fast"',
    ]
    assert fmt.footers(rel("r"), {"children": 2}) == [
        "Number of child tables: 2 (Use \\d+ to list them.)"
    ]
    assert fmt.footers(rel("I"), {"children": 3}) == [
        "Number of partitions: 3 (Use \\d+ to list them.)"
    ]
    server = {"server": [{"name": "srv", "options": "table_name 'remote'"}], "children": 0}
    assert fmt.footers(rel("f"), server) == ["Server: srv", "FDW options: (table_name 'remote')"]
    toast = {"owning_table": [{"schema": "pg_catalog", "name": "pg_database"}]}
    assert fmt.footers(rel("t"), toast) == ['Owning table: "pg_catalog.pg_database"']
    identity = {"owned_by": [{"column": "s.t.id", "deptype": "i"}]}
    assert fmt.footers(rel("S"), identity) == ["Sequence for identity column: s.t.id"]


# -- the meta-command on a stand-in session ----------------------------------------------
class FakeTrail:
    closed = False
    path = Path("/trail.jsonl")


class CatalogSession:
    """Answers the three internal queries of \\d by their purpose."""

    def __init__(self, answers: dict[str, Result]) -> None:
        self.answers = answers
        self.mode = Mode.READ_ONLY
        self.txn_state = "idle"
        self.connected = True
        self.trail = FakeTrail()
        self.meta: list[tuple[str, str, dict[str, object]]] = []
        self.queries: list[tuple[str, str]] = []

    def record_meta(self, command: str, args: str, fields: dict[str, object]) -> None:
        self.meta.append((command, args, fields))

    def internal_query(self, sql: str, purpose: str) -> Result:
        self.queries.append((purpose, sql))
        return self.answers[purpose]


@pytest.fixture
def pipe() -> Iterator[Any]:
    with create_pipe_input() as p:
        yield p


def run_describe(pipe: Any, answers: dict[str, Result], text: str) -> tuple[Any, str, str]:
    session = CatalogSession(answers)
    out, err = io.StringIO(), io.StringIO()
    shell = Shell(
        session,  # type: ignore[arg-type]
        ShellOptions(label="t", ticket="OPS-1", idle_timeout=0),
        stdout=out,
        stderr=err,
        pt_input=pipe,
        pt_output=DummyOutput(),
    )
    shell.run_text(text, "shell")
    return session, out.getvalue(), err.getvalue()


def one(*row: Any) -> Result:
    return Result(["x"] * len(row), [25] * len(row), [row], "SELECT 1", 1, True)


def test_describe_sends_three_internal_queries_and_prints_psqls_layout(pipe: Any) -> None:
    answers = {
        "\\d": one(*ACCOUNTS_ROW),
        "\\d columns": columns_result(ACCOUNTS_COLUMNS),
        "\\d footers": one(json.dumps(ACCOUNTS_FOOTERS)),
    }
    session, out, err = run_describe(pipe, answers, "\\d shop.accounts")
    assert (out, err) == (PSQL_ACCOUNTS, "")
    assert [purpose for purpose, _sql in session.queries] == ["\\d", "\\d columns", "\\d footers"]
    assert session.meta == [
        ("d", "shop.accounts", {"result": "ok", "rows": 7, "relations": ["shop.accounts"]})
    ]


def test_a_missing_name_is_psqls_message_on_stderr(pipe: Any) -> None:
    empty = Result(["x"], [25], [], "SELECT 0", 0, True)
    session, out, err = run_describe(pipe, {"\\d": empty}, '\\d "Nope" a.b.c.d')
    assert out == ""
    assert err == (
        'Did not find any relation named ""Nope"".\n'
        "improper qualified name (too many dotted names): a.b.c.d\n"
    )
    assert len(session.queries) == 1  # the bad pattern never reached the server
    assert session.meta[0][2] == {"result": "ok", "rows": 0, "relations": []}


def test_a_view_without_triggers_needs_no_footer_query(pipe: Any) -> None:
    row = ("7", "public", "rich", "v", "p", "0", "f", "f", "f", "f", "f", "f", "0", "", "150018")
    answers = {
        "\\d": one(*row),
        "\\d columns": columns_result([("id", "bigint", None, "f", None, "", "")]),
    }
    session, out, _err = run_describe(pipe, answers, "\\d rich")
    assert [p for p, _s in session.queries] == ["\\d", "\\d columns"]
    assert out == (
        '                View "public.rich"\n'
        " Column |  Type  | Collation | Nullable | Default \n"
        "--------+--------+-----------+----------+---------\n"
        " id     | bigint |           |          | \n\n"
    )
