"""A string that does not print itself.

Passwords and IAM tokens travel wrapped in :class:`Secret` so that a stray
``repr()``, f-string, log call or traceback shows ``***`` instead of the value.
Only :meth:`Secret.reveal` hands the string out, at the one place that needs it.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

_MASK = "Secret('***')"


class Secret:
    """An immutable wrapper whose only way out is :meth:`reveal`."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The wrapped string; call it only where the value must leave the process."""
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # Constant time, so comparing a guess does not leak how much of it matched.
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Secret is immutable")

    # A pickled Secret would carry the value in clear into a cache, a queue or a log shipper.
    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self
