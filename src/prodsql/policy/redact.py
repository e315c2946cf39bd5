"""Secrets in statements: what the trail records in their place, and what pgAudit logs.

A statement can carry a secret: ``CREATE/ALTER ROLE ... PASSWORD '...'``, a foreign
server's or user mapping's ``OPTIONS (password '...')``, a connection string with
``password=`` (``dblink_connect('...')``, ``CREATE SUBSCRIPTION ... CONNECTION '...'``), a
value written to or compared with a column named like a secret. The trail is append-only
and may be shipped where nothing can be deleted, so what it records is :func:`redact`'s
text: each such literal replaced by ``'<REDACTED>'`` (in a connection string only the
password's value). The literals are found on PostgreSQL's parse tree; a statement that
mentions a secret and does not parse has every string literal replaced, and one that
cannot even be lexed is cut after the first word that names a secret.

pgAudit redacts some statements itself (its source, ``log_audit_event``): for ``CREATE/
ALTER ROLE`` (and, from pgaudit PR #197 on, ``CREATE/ALTER USER MAPPING``) it logs the query
string up to the end of the first ``password`` in it (ASCII, any case), then
`` <REDACTED>``, dropping the rest. :func:`pgaudit_logged` reproduces that, so reconcile can
still compare the trail with the server's line exactly. pgAudit 1.7.0 logs user mappings,
and every other statement, whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "REDACTED",
    "Redaction",
    "mentions_secret",
    "pgaudit_cut",
    "pgaudit_logged",
    "redact",
    "redact_text",
]

REDACTED = "<REDACTED>"
_LITERAL = "'<REDACTED>'"
# Names and words that make a statement (or a history line) worth a closer look.
SECRET_WORDS = re.compile(r"passw(?:or)?d|pwd|secret|passphrase", re.IGNORECASE)
# A URI with a password in its user part: postgresql://user:PASSWORD@host/db
_URI_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:'\"]*:)([^/@\s'\"]*)(@)")
# key=value connection strings and URI query parameters whose key names a secret.
_CONNINFO_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9_])([A-Za-z_]*(?:passw(?:or)?d|pwd|secret|passphrase)[A-Za-z_]*\s*=\s*)"
    r"('(?:[^'\\]|\\.)*'?|[^\s&]*)",
    re.IGNORECASE,
)
_LITERAL_TOKENS = frozenset({"SCONST", "USCONST", "ICONST", "FCONST", "BCONST", "XCONST"})
_STRING_TOKENS = frozenset({"SCONST", "USCONST"})
_NEAR = re.compile(r'(at or near )".*"', re.DOTALL)
_MAX_DEPTH = 8  # code bodies inside code bodies: deeper than this is redacted whole

# pgAudit's own redaction: the statements it applies to, and the word it cuts after.
_PGAUDIT_TOKEN = re.compile("password", re.IGNORECASE | re.ASCII)
_PGAUDIT_REDACTS = frozenset(
    {"CreateRoleStmt", "AlterRoleStmt", "CreateUserMappingStmt", "AlterUserMappingStmt"}
)


def mentions_secret(text: str) -> bool:
    """Whether ``text`` names a password or secret, or holds a URI with a password."""
    return bool(SECRET_WORDS.search(text) or _URI_PASSWORD.search(text))


def _is_secret_name(name: object) -> bool:
    return isinstance(name, str) and bool(SECRET_WORDS.search(name))


@dataclass(frozen=True, slots=True)
class Redaction:
    """A statement as the trail may record it. ``secrets`` (never recorded) are what was
    taken out, so that messages quoting the statement can be scrubbed too."""

    text: str
    redacted: bool = False
    secrets: tuple[str, ...] = ()

    def scrub(self, message: str) -> str:
        """``message`` (an error, a notice, a reason) without this statement's secrets."""
        if not self.redacted:
            return message
        for secret in sorted(set(self.secrets), key=len, reverse=True):
            if secret:
                message = message.replace(secret, REDACTED)
        # A syntax error quotes the statement where it failed, which may be mid-secret.
        return _NEAR.sub(r'\1"' + REDACTED + '"', message)


def redact(sql: str) -> Redaction:
    """``sql`` with its secrets replaced (see the module's doc); the same object's text
    when it has none."""
    if not mentions_secret(sql):
        return Redaction(sql)
    return _Redactor(sql, 0).run()


def redact_text(sql: str) -> str:
    return redact(sql).text


def pgaudit_cut(sent: str) -> str | None:
    """What pgAudit logs in place of ``sent`` when it redacts it itself: everything up to
    the end of the first ``password`` (ASCII, any case), a space and ``<REDACTED>``."""
    found = _PGAUDIT_TOKEN.search(sent)
    return None if found is None else f"{sent[: found.end()]} {REDACTED}"


def pgaudit_logged(sql: str, sent: str) -> str | None:
    """pgaudit_cut of ``sent`` (the recorded text as sent) when the statement ``sql`` is
    one pgAudit redacts itself (CREATE/ALTER ROLE, CREATE/ALTER USER MAPPING); else None."""
    if _PGAUDIT_TOKEN.search(sql) is None:
        return None
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except (parser.ParseError, ValueError, RecursionError):
        return None
    nodes = {next(iter(s["stmt"]), "") for s in tree.get("stmts", []) if s.get("stmt")}
    return pgaudit_cut(sent) if nodes & _PGAUDIT_REDACTS else None


# -- finding the literals -------------------------------------------------------------


@dataclass(slots=True)
class _Edit:
    end: int  # character offset after the literal
    replacement: str
    weight: int  # a whole-literal redaction wins over a partial one at the same place


@dataclass(slots=True)
class _Redactor:
    sql: str
    depth: int
    tokens: dict[int, tuple[int, str]] = field(default_factory=dict)  # start -> (end, name)
    edits: dict[int, _Edit] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    lost: bool = False  # a literal to redact was not found among the tokens
    _ascii: bool = True
    _raw: bytes = b""

    def run(self) -> Redaction:
        from pglast import parser

        try:
            self._raw = self.sql.encode()
            scanned = parser.scan(self.sql)
        except (parser.ParseError, UnicodeEncodeError, ValueError, RecursionError):
            return self._cut()
        self._ascii = len(self._raw) == len(self.sql)
        ordered = [(t.start, t.end + 1, str(t.name)) for t in scanned]
        self.tokens = {start: (end, name) for start, end, name in ordered}
        try:
            tree = json.loads(parser.parse_sql_json(self.sql))
        except (parser.ParseError, ValueError, RecursionError):
            return self._every_literal(ordered, _STRING_TOKENS)
        try:
            self._visit(tree)
        except RecursionError:
            self.lost = True
        if self.lost:  # a literal the tree points at is not where the lexer saw one
            return self._every_literal(ordered, _LITERAL_TOKENS)
        return self._result()

    # -- results

    def _result(self) -> Redaction:
        if not self.edits:
            return Redaction(self.sql)
        parts: list[str] = []
        at = 0
        for start in sorted(self.edits):
            edit = self.edits[start]
            parts += [self.sql[at:start], edit.replacement]
            at = edit.end
        parts.append(self.sql[at:])
        return Redaction("".join(parts), True, tuple(self.secrets))

    def _every_literal(
        self, ordered: list[tuple[int, int, str]], kinds: frozenset[str]
    ) -> Redaction:
        """Unparseable: every literal of ``kinds`` goes, and whatever follows a PASSWORD."""
        self.edits.clear()
        self.secrets.clear()
        after_password = False
        for start, _end, name in ordered:
            if name in kinds or (after_password and name != "NULL_P"):
                self._whole_token(start)
            after_password = name == "PASSWORD"
        return self._result()

    def _cut(self) -> Redaction:
        """Not even lexable (an unterminated quote): cut after the first secret word."""
        word, uri = SECRET_WORDS.search(self.sql), _URI_PASSWORD.search(self.sql)
        at = min(word.end() if word else len(self.sql), uri.start() if uri else len(self.sql))
        tail = self.sql[at:]
        return Redaction(f"{self.sql[:at]} {REDACTED}", True, (tail, tail.strip()))

    # -- edits

    def _char(self, byte_offset: int) -> int:
        if self._ascii:
            return byte_offset
        return len(self._raw[:byte_offset].decode("utf-8", "replace"))

    def _token_at(self, location: object) -> tuple[int, int, str] | None:
        """The literal token at a parse tree location; None (and ``lost``) when there is
        none there: the caller has a secret to take out and cannot place it."""
        start = self._char(location) if isinstance(location, int) and location >= 0 else -1
        found = self.tokens.get(start)
        if found is None or found[1] not in _LITERAL_TOKENS:
            self.lost = True
            return None
        return start, *found

    def _whole_token(self, start: int) -> None:
        end, _name = self.tokens[start]
        token = self.sql[start:end]
        self.secrets += [token, _unquoted(token)]
        self._edit(start, _Edit(end, _LITERAL, 2))

    def _whole(self, location: object, value: object = None) -> None:
        found = self._token_at(location)
        if found is None:
            return
        start, end, _name = found
        self.secrets.append(self.sql[start:end])
        if isinstance(value, str):
            self.secrets.append(value)
        self._edit(start, _Edit(end, _LITERAL, 2))

    def _edit(self, start: int, edit: _Edit) -> None:
        current = self.edits.get(start)
        if current is None or edit.weight > current.weight:
            self.edits[start] = edit

    def _conninfo(self, location: object, value: str) -> None:
        hidden, secrets = redact_conninfo(value)
        if not secrets:
            return
        found = self._token_at(location)
        if found is None:
            return
        start, end, _name = found
        self.secrets += secrets
        self._edit(start, _Edit(end, _quote(hidden), 1))

    def _body(self, location: object, body: str) -> None:
        """A DO block's or a function's code: redacted on its own, then quoted again."""
        if not mentions_secret(body):
            return
        found = self._token_at(location)
        if found is None:
            return
        start, end, _name = found
        if self.depth >= _MAX_DEPTH:
            self._whole(location, body)
            return
        inner = _Redactor(body, self.depth + 1).run()
        if inner.redacted:
            self.secrets += inner.secrets
            self._edit(start, _Edit(end, _requote(self.sql[start:end], inner.text), 1))

    # -- the tree

    def _visit(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self._visit(item)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            handler = _HANDLERS.get(key)
            if handler is not None and isinstance(value, dict):
                handler(self, value)
            elif isinstance(value, dict | list):
                self._visit(value)

    def _secret_subtree(self, node: Any) -> None:
        """Every literal under ``node`` is a secret (its context names one)."""
        if isinstance(node, list):
            for item in node:
                self._secret_subtree(item)
            return
        if not isinstance(node, dict):
            return
        const = node.get("A_Const")
        if isinstance(const, dict):
            if const.get("isnull") or "boolval" in const:
                return  # NULL, TRUE and FALSE are keywords, and no secret
            value = const.get("sval", {}).get("sval") if "sval" in const else None
            self._whole(const.get("location"), value)
            return
        for value in node.values():
            self._secret_subtree(value)

    def on_const(self, body: dict[str, Any]) -> None:
        value = body.get("sval", {}).get("sval") if "sval" in body else None
        if isinstance(value, str):
            self._conninfo(body.get("location"), value)

    def on_def_elem(self, body: dict[str, Any]) -> None:
        arg = body.get("arg")
        if not _is_secret_name(body.get("defname")):
            value = arg.get("String", {}).get("sval") if isinstance(arg, dict) else None
            if isinstance(value, str):  # an option's connection string
                self._conninfo(body.get("arg_location"), value)
            self._visit(arg)
            return
        if isinstance(arg, dict) and "String" in arg:
            self._whole(body.get("arg_location"), arg["String"].get("sval"))
        else:
            self._secret_subtree(arg)

    def on_res_target(self, body: dict[str, Any]) -> None:
        if _is_secret_name(body.get("name")):
            self._secret_subtree(body.get("val"))
        else:
            self._visit(body.get("val"))
        self._visit(body.get("indirection"))

    def on_a_expr(self, body: dict[str, Any]) -> None:
        left, right = body.get("lexpr"), body.get("rexpr")
        if _names_secret_column(left):
            self._secret_subtree(right)
        elif _names_secret_column(right):
            self._secret_subtree(left)
        self._visit([left, right])

    def on_func_call(self, body: dict[str, Any]) -> None:
        names = [n.get("String", {}).get("sval") for n in body.get("funcname", [])]
        if names and _is_secret_name(names[-1]):
            self._secret_subtree(body.get("args"))
        self._visit({k: v for k, v in body.items() if k != "funcname"})

    def on_named_arg(self, body: dict[str, Any]) -> None:
        if _is_secret_name(body.get("name")):
            self._secret_subtree(body.get("arg"))
        else:
            self._visit(body.get("arg"))

    def on_insert(self, body: dict[str, Any]) -> None:
        cols = [c.get("ResTarget", {}).get("name") for c in body.get("cols") or []]
        secret = [i for i, name in enumerate(cols) if _is_secret_name(name)]
        select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
        for row in select.get("valuesLists") or []:
            items = row.get("List", {}).get("items", []) if isinstance(row, dict) else []
            for i in secret:
                if i < len(items):
                    self._secret_subtree(items[i])
        self._visit(body)

    def on_subscription(self, body: dict[str, Any]) -> None:
        conninfo = body.get("conninfo")
        if isinstance(conninfo, str):
            self._conninfo(body.get("conninfo_location"), conninfo)
        self._visit({k: v for k, v in body.items() if k != "conninfo"})

    def on_do(self, body: dict[str, Any]) -> None:
        self._code(body.get("args"))

    def on_create_function(self, body: dict[str, Any]) -> None:
        self._code(body.get("options"))
        self._visit({k: v for k, v in body.items() if k != "options"})

    def _code(self, options: Any) -> None:
        for option in options or []:
            elem = option.get("DefElem", {}) if isinstance(option, dict) else {}
            if elem.get("defname") != "as":
                self._visit(option)
                continue
            arg = elem.get("arg") or {}
            strings = arg.get("List", {}).get("items", []) if "List" in arg else [arg]
            body = strings[0].get("String", {}).get("sval") if strings else None
            if isinstance(body, str):
                self._body(elem.get("arg_location"), body)


def _names_secret_column(node: Any) -> bool:
    ref = node.get("ColumnRef") if isinstance(node, dict) else None
    if not isinstance(ref, dict):
        return False
    fields = ref.get("fields") or []
    last = fields[-1].get("String", {}).get("sval") if fields else None
    return _is_secret_name(last)


_HANDLERS = {
    "A_Const": _Redactor.on_const,
    "DefElem": _Redactor.on_def_elem,
    "ResTarget": _Redactor.on_res_target,
    "A_Expr": _Redactor.on_a_expr,
    "FuncCall": _Redactor.on_func_call,
    "NamedArgExpr": _Redactor.on_named_arg,
    "InsertStmt": _Redactor.on_insert,
    "CreateSubscriptionStmt": _Redactor.on_subscription,
    "AlterSubscriptionStmt": _Redactor.on_subscription,
    "DoStmt": _Redactor.on_do,
    "CreateFunctionStmt": _Redactor.on_create_function,
}


# -- connection strings and quoting ------------------------------------------------------


def redact_conninfo(value: str) -> tuple[str, list[str]]:
    """A connection string (``key=value`` or URI) with its password values replaced by
    ``<REDACTED>``, and the values taken out."""
    secrets: list[str] = []
    hidden = _URI_PASSWORD.sub(
        lambda m: m.group(1) + _take(secrets, m.group(2)) + m.group(3), value
    )
    hidden = _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + _take(secrets, m.group(2)), hidden)
    return hidden, [s for s in secrets if s]


def _take(secrets: list[str], value: str) -> str:
    if not value:
        return value
    secrets += [value, _unquoted(value)]
    return REDACTED


def _unquoted(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _requote(original: str, body: str) -> str:
    """``body`` quoted as ``original`` was: with its dollar quotes when it had them."""
    if original.startswith("$"):
        delimiter = original[: original.index("$", 1) + 1]
        if delimiter not in body:
            return delimiter + body + delimiter
    return _quote(body)
