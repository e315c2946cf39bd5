"""The subcommands classify, login and demo (verify, replay, reconcile: prodsql.audit.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from prodsql._cli import _Parser
from prodsql.errors import UsageError

if TYPE_CHECKING:
    from prodsql.policy import MetaCommand, Mode

Verdict = dict[str, object]
META_REASON = (
    "psql meta-command: prodsql -c/-f refuse a script that contains one, before connecting "
    "(nothing is sent)"
)


def classify_main(argv: list[str]) -> int:
    """Lint SQL with the policy: 0 when everything would run, 1 otherwise, 2 unreadable."""
    p = _Parser(prog="prodsql classify", description=classify_main.__doc__)
    p.add_argument("file", nargs="?", default="-", help="SQL file ('-' or absent: stdin)")
    p.add_argument("--write", action="store_true", help="judge as in write mode")
    p.add_argument("--json", action="store_true", help="a JSON array, one object per statement")
    ns = p.parse_args(argv)
    from prodsql.policy import Mode

    text = read_input(ns.file)
    verdicts = classify_text(text, Mode.WRITE if ns.write else Mode.READ_ONLY)
    if ns.json:
        json.dump(verdicts, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_verdicts(verdicts)
    return 0 if all(v["action"] == "run" for v in verdicts) else 1


def read_input(name: str) -> str:
    """The file's text, or stdin's for ``-``: strict UTF-8 without NUL bytes (else exit 2)."""
    from prodsql._run import _read_file, reject_nul

    if name != "-":
        return _read_file(name)
    # Bytes, not sys.stdin's text layer: under some locales it decodes with surrogateescape,
    # and the scanner would then fail on the surrogates instead of the input being refused.
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input: not UTF-8 text (byte {exc.start})") from None
    return reject_nul(text, "standard input")


def classify_text(text: str, mode: Mode) -> list[Verdict]:
    """One verdict per statement or psql meta-command, in input order."""
    from prodsql.policy import MetaCommand, evaluate, split

    verdicts: list[Verdict] = []
    for piece in split(text):
        if isinstance(piece, MetaCommand):
            verdicts.append(_meta_verdict(piece))
            continue
        c, d = evaluate(piece.text, mode)
        verdicts.append(
            {
                "line": piece.line,
                "sql": piece.text,
                "kind": c.kind,
                "command": c.command,
                "objects": list(c.objects),
                "flags": sorted(c.flags),
                "action": str(d.action),
                "reasons": list(d.reasons or c.reasons),
            }
        )
    return verdicts


def _meta_verdict(meta: MetaCommand) -> Verdict:
    return {
        "line": meta.line,
        "sql": f"\\{meta.name} {meta.args}".strip(),
        "kind": "meta",
        "command": f"\\{meta.name}",
        "objects": [],
        "flags": [],
        "action": "refuse",
        "reasons": [META_REASON],
    }


def _print_verdicts(verdicts: list[Verdict]) -> None:
    for v in verdicts:
        sql = str(v["sql"])
        first = sql.splitlines()[0] if sql else ""
        short = first if len(first) <= 70 else first[:67] + "..."
        print(f"{v['line']:>5}  {v['action']:<8} {v['command']:<20} {short}")
        reasons = v["reasons"]
        if v["action"] != "run" and isinstance(reasons, list) and reasons:
            print(f"{'':>7}{'; '.join(str(r) for r in reasons)}")
    counts = {a: sum(1 for v in verdicts if v["action"] == a) for a in ("run", "confirm", "refuse")}
    noun = "statement" if len(verdicts) == 1 else "statements"
    print(
        f"{len(verdicts)} {noun}: {counts['run']} run, {counts['confirm']} confirm, "
        f"{counts['refuse']} refuse"
    )


def login_main(argv: list[str]) -> int:
    """Store the password of a keyring target in the OS keyring (prompted, never echoed)."""
    p = _Parser(prog="prodsql login", description=login_main.__doc__)
    p.add_argument("target", help="a target from the configuration file with auth = 'keyring'")
    p.add_argument("--config", metavar="FILE")
    p.add_argument("--delete", action="store_true", help="remove the stored password")
    ns = p.parse_args(argv)
    from prodsql.auth.keyring_store import delete_password, prompt_password, set_password
    from prodsql.config import load_config

    target = load_config(Path(ns.config) if ns.config else None).target(ns.target)
    if target.auth != "keyring" or not target.user:
        raise UsageError(f"target {target.name!r} does not use auth = 'keyring' with a user")
    if ns.delete:
        delete_password(target.name, target.user)
        print(f"removed the stored password for {target.user} on {target.name}")
        return 0
    secret = prompt_password(f"password for {target.user} on {target.name}: ")
    set_password(target.name, target.user, secret)
    print(f"stored the password for {target.user} on {target.name} in the OS keyring")
    return 0


def demo_main(argv: list[str]) -> int:
    """Start a throwaway PostgreSQL with pgAudit and open the prodsql shell on it; without
    a terminal, run a scripted session instead (exit 1 if a step did not end as expected)."""
    p = _Parser(prog="prodsql demo", description=demo_main.__doc__)
    p.add_argument("--keep", action="store_true", help="keep the sandbox directory afterwards")
    ns = p.parse_args(argv)
    from prodsql._demo import run_demo

    return run_demo(keep=ns.keep)
