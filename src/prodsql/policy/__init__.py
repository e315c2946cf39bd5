"""The statement policy: split input, classify each statement, decide run/confirm/refuse,
and tag what is sent so the server's audit line can be found."""

from prodsql.policy.classify import Classification, classify
from prodsql.policy.decide import Action, Decision, Mode, PolicyConfig, decide, evaluate
from prodsql.policy.split import MetaCommand, Piece, Statement, needs_more_input, split
from prodsql.policy.tag import find_tag, make_tag, tag_statement

__all__ = [
    "Action",
    "Classification",
    "Decision",
    "MetaCommand",
    "Mode",
    "Piece",
    "PolicyConfig",
    "Statement",
    "classify",
    "decide",
    "evaluate",
    "find_tag",
    "make_tag",
    "needs_more_input",
    "split",
    "tag_statement",
]
