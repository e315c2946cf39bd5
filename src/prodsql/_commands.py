"""The subcommands classify, login and demo (verify, replay, reconcile: prodsql.audit.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from prodsql._cli import _Parser
from prodsql.errors import Error, UsageError


def classify_main(argv: list[str]) -> int:
    """Lint SQL with the policy: 0 when everything would run, 1 otherwise, 2 unreadable."""
    p = _Parser(prog="prodsql classify", description=classify_main.__doc__)
    p.add_argument("file", nargs="?", default="-", help="SQL file ('-' or absent: stdin)")
    p.add_argument("--write", action="store_true", help="judge as in write mode")
    p.add_argument("--json", action="store_true", help="a JSON array, one object per statement")
    ns = p.parse_args(argv)
    from prodsql._run import _read_file
    from prodsql.policy import Mode

    text = _read_file(ns.file)
    verdicts = classify_text(text, Mode.WRITE if ns.write else Mode.READ_ONLY)
    if ns.json:
        json.dump(verdicts, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_verdicts(verdicts)
    return 0 if all(v["action"] == "run" for v in verdicts) else 1


def classify_text(text: str, mode: Any) -> list[dict[str, object]]:
    from prodsql.policy import MetaCommand, evaluate, split

    verdicts: list[dict[str, object]] = []
    for piece in split(text):
        if isinstance(piece, MetaCommand):
            verdicts.append(
                {
                    "line": piece.line,
                    "sql": f"\\{piece.name} {piece.args}".strip(),
                    "kind": "meta",
                    "command": f"\\{piece.name}",
                    "objects": [],
                    "action": "refuse",
                    "reasons": ["psql meta-commands are not run by prodsql -c/-f"],
                }
            )
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


def _print_verdicts(verdicts: list[dict[str, object]]) -> None:
    for v in verdicts:
        first = str(v["sql"]).splitlines()[0] if v["sql"] else ""
        short = first if len(first) <= 70 else first[:67] + "..."
        reasons = "; ".join(str(r) for r in v["reasons"])  # type: ignore[attr-defined]
        print(f"{v['line']:>5}  {v['action']:<8} {v['command']:<20} {short}")
        if reasons and v["action"] != "run":
            print(f"{'':>7}{reasons}")
    counts = {a: sum(1 for v in verdicts if v["action"] == a) for a in ("run", "confirm", "refuse")}
    print(
        f"{len(verdicts)} statements: {counts['run']} run, {counts['confirm']} confirm, "
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
    """Start a throwaway PostgreSQL with pgAudit and run a scripted session through prodsql."""
    p = _Parser(prog="prodsql demo", description=demo_main.__doc__)
    p.add_argument("--keep", action="store_true", help="keep the sandbox directory afterwards")
    ns = p.parse_args(argv)
    from prodsql._demo import run_demo

    try:
        return run_demo(keep=ns.keep)
    except Error:
        raise
