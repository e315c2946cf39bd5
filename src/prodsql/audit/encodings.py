"""Statement text logged by a server whose database encoding is not UTF-8.

PostgreSQL writes a statement into its log in the encoding of the database it ran in
(stderr, csvlog and jsonlog alike: no conversion). prodsql reads log files as UTF-8 and
keeps the bytes that are not UTF-8 as lone surrogates (``surrogateescape``), so nothing is
lost: the bytes can be rebuilt exactly and decoded with the session's server encoding,
which the trail's ``connected`` record names (``server_encoding``).
"""

from __future__ import annotations

import codecs
import re

# PostgreSQL's server-side encodings and the Python codec for each. EUC_TW and
# MULE_INTERNAL have no Python codec: their text is compared as UTF-8 (a mismatch).
_CODECS = {
    "UTF8": "utf-8",
    "SQL_ASCII": "utf-8",  # no conversion: the server stores the client's UTF-8 bytes
    "LATIN1": "latin-1",
    "LATIN2": "iso8859-2",
    "LATIN3": "iso8859-3",
    "LATIN4": "iso8859-4",
    "LATIN5": "iso8859-9",
    "LATIN6": "iso8859-10",
    "LATIN7": "iso8859-13",
    "LATIN8": "iso8859-14",
    "LATIN9": "iso8859-15",
    "LATIN10": "iso8859-16",
    "ISO_8859_5": "iso8859-5",
    "ISO_8859_6": "iso8859-6",
    "ISO_8859_7": "iso8859-7",
    "ISO_8859_8": "iso8859-8",
    "WIN866": "cp866",
    "WIN874": "cp874",
    "WIN1250": "cp1250",
    "WIN1251": "cp1251",
    "WIN1252": "cp1252",
    "WIN1253": "cp1253",
    "WIN1254": "cp1254",
    "WIN1255": "cp1255",
    "WIN1256": "cp1256",
    "WIN1257": "cp1257",
    "WIN1258": "cp1258",
    "KOI8R": "koi8-r",
    "KOI8U": "koi8-u",
    "EUC_JP": "euc-jp",
    "EUC_JIS_2004": "euc-jis-2004",
    "EUC_CN": "gb2312",
    "EUC_KR": "euc-kr",
}
_ESCAPED = re.compile("[\udc80-\udcff]")


def python_codec(server_encoding: str | None) -> str | None:
    """The Python codec for a PostgreSQL server encoding; None when it is UTF-8 (nothing to
    do), unknown or missing."""
    if not server_encoding:
        return None
    name = _CODECS.get(server_encoding.upper())
    if name is None or name == "utf-8":
        return None
    codecs.lookup(name)  # every name above exists; a typo would fail here, loudly
    return name


def recode(logged: str, server_encoding: str | None) -> str | None:
    """The logged text as the server meant it: its bytes decoded with the server encoding.
    None when there is nothing to recode (UTF-8, unknown encoding, plain ASCII)."""
    codec = python_codec(server_encoding)
    if codec is None or logged.isascii():
        return None
    return logged.encode("utf-8", "surrogateescape").decode(codec, "replace")


def printable(logged: str) -> str:
    """Logged text fit to print and to put in JSON: bytes that were not UTF-8 shown as
    ``\\xNN`` escapes."""
    if logged.isascii() or not _ESCAPED.search(logged):
        return logged
    return logged.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
