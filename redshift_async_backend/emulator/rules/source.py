"""A statement's text, its tokens, and the edits rules make to it.

Positions. Every position a rule sees (a token's ``start``/``end``, a tree node's
``location``, an edit's span) is a **byte offset into the statement's UTF-8 form**, the
coordinates PostgreSQL's scanner and parser work in. For an ASCII statement (nearly all of
them) a byte offset is a character offset.

Masking. pglast maps PostgreSQL's byte offsets back to character indexes with a search that
costs as much as the text after the offset, once per token or node: quadratic in a long
statement with non-ASCII text. And it cannot encode invalid UTF-8 at all. So the scanner and
the parser are given a *masked* copy of the statement: every non-ASCII character replaced by
``_`` repeated as many times as its UTF-8 length. ``_`` is a letter to PostgreSQL's scanner,
as every byte >= 0x80 is, so the masked copy has the same tokens at the same byte offsets,
and pglast's mapping is the identity. The price: in the *tree*, a string constant or a name
with non-ASCII characters reads ``__`` where the client wrote ``é`` (its byte length is
right). A rule that needs the exact text of such a value takes it from the tokens
(``Token.text``) or from :meth:`Source.slice`.

Backslashes. This backend writes a backslash in a literal as ``' || CHR(92) || '``
(drivers/psycopg.py): a JSON value with escaped characters becomes a chain of dozens of
``||``, a deep tree that costs pglast microseconds a node to build. The parser is given
each such chain as one string constant of the same length (:func:`fold_backslashes`): the
tree then has an ``A_Const`` where the client wrote the chain.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from typing import NamedTuple

from pglast.parser import scan

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


class Source:
    """One statement as the client wrote it."""

    __slots__ = ("_errors", "ascii", "data", "masked", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        if self.ascii:
            self._errors = "strict"
            self.data = b""
            self.masked = text
            return
        # The server decodes client bytes with surrogateescape: invalid UTF-8 arrives as
        # lone surrogates, and goes back to the upstream as the same bytes.
        self._errors = "surrogateescape"
        try:
            self.data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that no client byte could have made
            self._errors = "surrogatepass"
            self.data = text.encode("utf-8", "surrogatepass")
        self.masked = _NON_ASCII.sub(self._mask, text)

    def _mask(self, m: re.Match[str]) -> str:
        return "_" * len(m.group().encode("utf-8", self._errors))

    def __len__(self) -> int:
        return len(self.text) if self.ascii else len(self.data)

    def slice(self, start: int, end: int) -> str:
        """The client's text between two byte offsets."""
        if self.ascii:
            return self.text[start:end]
        return self.data[start:end].decode("utf-8", self._errors)

    @property
    def valid_utf8(self) -> bool:
        """False when the client sent bytes that are not UTF-8 (they arrive as surrogates)."""
        return self.ascii or _SURROGATE.search(self.text) is None

    def encode(self, text: str) -> bytes:
        return text.encode("utf-8", self._errors)

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8", self._errors)

    def mask(self, text: str) -> str:
        """``text`` (an edit's replacement) masked as the statement is."""
        return text if text.isascii() else _NON_ASCII.sub(self._mask, text)


# A literal, a chain of literals joined by CHR(92), or what must be stepped over whole
# (quoted names, comments) for literals to be found where they begin. A literal ends at a
# quote that is not the first of a doubled one.
_CHAIN = re.compile(
    r"""(?P<chain>'[^']*(?:''[^']*)*'(?!')(?:\s*\|\|\s*chr\(92\)\s*\|\|\s*'[^']*(?:''[^']*)*'(?!'))+)"""
    r"""|'[^']*(?:''[^']*)*'|"[^"]*"|--[^\n]*|/\*.*?\*/""",
    re.I | re.S,
)
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_]\w*)?\$")


def _fold(m: re.Match[str]) -> str:
    chain = m.group("chain")
    return m.group() if chain is None else "'" + "_" * (len(chain) - 2) + "'"


def fold_backslashes(masked: str) -> str:
    """``masked`` with each ``'...' || CHR(92) || '...'`` chain as one constant of the same
    length. Dollar quotes are lexed otherwise: then nothing is folded. (An E'...' literal,
    also lexed otherwise, never gets here: the rule no-escape-string-literals refuses the
    statement before the parse.)"""
    if "chr(92)" not in masked and "CHR(92)" not in masked and "Chr(92)" not in masked:
        return masked
    if "$" in masked and _DOLLAR_QUOTE.search(masked):
        return masked
    return _CHAIN.sub(_fold, masked)


class Token(NamedTuple):
    """One token of PostgreSQL's scanner (comments are not tokens here)."""

    start: int
    end: int  # exclusive
    name: str  # the scanner's name: IDENT, SCONST, ICONST, Op, TYPECAST, ASCII_40 ('('), a keyword
    text: str  # as the client wrote it

    @property
    def word(self) -> str:
        """The unquoted word (keyword or identifier), lower case; '' for anything else."""
        if self.name == "IDENT":
            return "" if self.text.startswith('"') else self.text.lower()
        if self.name in _NOT_WORDS or not self.text.isidentifier():
            return ""
        return self.text.lower()

    @property
    def ident(self) -> str:
        """The identifier as PostgreSQL resolves it (quoted: as written; else its ASCII
        letters in lower case, as PostgreSQL folds names in a UTF-8 database)."""
        if self.text.startswith('"'):
            return self.text[1:-1].replace('""', '"')
        return self.text.lower() if self.text.isascii() else self.text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NOT_WORDS = frozenset({"SCONST", "ICONST", "FCONST", "BCONST", "XCONST", "Op", "PARAM"})


def tokens(source: Source) -> list[Token]:
    """The statement's tokens, from one scan of the masked text."""
    masked = source.masked
    split: list[int] = []  # where a number runs into a word (client positions)
    while True:
        try:
            raw = scan(masked)
            break
        except Exception as exc:  # pglast's scanner refuses the text: the upstream reports it
            at = _number_end(masked, exc)
            if at is None or len(split) >= 100:
                return []
            # "4WHEN": Redshift's scanner reads a number and a word, PostgreSQL 15+'s refuses
            # it; scanned as "4 WHEN", positions counted in the client's text.
            split.append(at - len(split))
            masked = masked[:at] + " " + masked[at:]
    text = source.text if source.ascii else None
    out = []
    for t in raw:
        if t.name in _COMMENTS:
            continue
        start, end = t.start, t.end + 1
        if split:
            start, end = _unsplit(split, t.start), _unsplit(split, t.end) + 1
        out.append(Token(start, end, t.name, text[start:end] if text is not None else ""))
    if text is None:
        data, errors = source.data, source._errors
        out = [t._replace(text=data[t.start : t.end].decode("utf-8", errors)) for t in out]
    return out


def _number_end(masked: str, exc: Exception) -> int | None:
    """Where a number that runs into a word ends, from the scanner's "trailing junk" error."""
    args: tuple[object, ...] = tuple(getattr(exc, "args", ()))
    if len(args) < 2 or "trailing junk after numeric literal" not in str(args[0]):
        return None
    i = args[1]
    if not isinstance(i, int) or not 0 <= i < len(masked):
        return None
    while i < len(masked) and (masked[i].isdigit() or masked[i] == "."):
        i += 1
    exponent = re.match(r"[eE][+-]?[0-9]+", masked[i:])
    if exponent:
        i += exponent.end()
    return i if i < len(masked) and (masked[i].isalpha() or masked[i] == "_") else None


def _unsplit(split: list[int], pos: int) -> int:
    """A position in the scanned (split) text, in the client's text."""
    n = 0
    for at in split:  # inserted spaces, each at ``at + n`` in the scanned text
        if pos > at + n:
            n += 1
    return pos - n


class Unbalanced(Exception):
    """A '(' without its ')': the statement goes to the upstream as it is, whose parser
    reports the error."""


def matching(toks: list[Token], i: int) -> int:
    """Index of the ')' matching the '(' at ``toks[i]`` (else :class:`Unbalanced`)."""
    depth = 0
    for j in range(i, len(toks)):
        text = toks[j].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return j
    raise Unbalanced


def is_words(toks: list[Token], i: int, *words: str) -> bool:
    """Do ``toks[i:]`` start with these (lower-case, unquoted) words?"""
    return all(i + k < len(toks) and toks[i + k].word == w for k, w in enumerate(words))


def elements(toks: list[Token], open_i: int, close_i: int) -> list[tuple[int, int]]:
    """The comma-separated elements between a '(' and its ')': (first, past-last) indexes."""
    out: list[tuple[int, int]] = []
    depth = 0
    first = open_i + 1
    for j in range(open_i + 1, close_i):
        text = toks[j].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif text == "," and depth == 0:
            out.append((first, j))
            first = j + 1
    if first < close_i:
        out.append((first, close_i))
    return out


class Edits:
    """Replacements of spans of the statement, in byte offsets. They must not overlap (two
    rules editing the same text is a bug, reported as such); insertions at one position
    keep the order they were made in."""

    __slots__ = ("_edits",)

    def __init__(self) -> None:
        self._edits: list[tuple[int, int, int, str]] = []  # start, seq, end, text

    def __bool__(self) -> bool:
        return bool(self._edits)

    def replace(self, start: int, end: int, text: str) -> None:
        self._edits.append((start, len(self._edits), end, text))

    def _sorted(self) -> list[tuple[int, int, int, str]]:
        edits = sorted(self._edits)
        for (s1, _, e1, _), (s2, _, e2, _) in itertools.pairwise(edits):
            if s2 < e1:
                raise RuntimeError(f"two rules edit overlapping text at bytes {s1}-{e1}, {s2}-{e2}")
        return edits

    def apply(self, source: Source) -> str:
        """The statement with every edit made."""
        if not self._edits:
            return source.text
        if source.ascii and all(t.isascii() for _, _, _, t in self._edits):
            return "".join(self._pieces(source.text))
        data = source.data if not source.ascii else source.text.encode()
        return source.decode(b"".join(self._byte_pieces(data, source)))

    def apply_masked(self, source: Source) -> str:
        """The masked statement with every edit made (what the parser reads)."""
        if not self._edits:
            return source.masked
        return "".join(self._pieces(source.masked, source))

    def _pieces(self, text: str, source: Source | None = None) -> Iterator[str]:
        pos = 0
        for start, _, end, new in self._sorted():
            yield text[pos:start]
            yield new if source is None else source.mask(new)
            pos = max(pos, end)
        yield text[pos:]

    def _byte_pieces(self, data: bytes, source: Source) -> Iterator[bytes]:
        pos = 0
        for start, _, end, new in self._sorted():
            yield data[pos:start]
            yield source.encode(new)
            pos = max(pos, end)
        yield data[pos:]

    def position_map(self, source: Source) -> PositionMap:
        return PositionMap([(s, e, len(source.mask(t))) for s, _, e, t in self._sorted()])


class PositionMap:
    """Maps a byte offset in the edited (masked) text back to the original statement; a
    position inside a replacement maps to the start of the span it replaced."""

    __slots__ = ("_ends", "_old", "_shift", "_starts")

    def __init__(self, edits: list[tuple[int, int, int]]) -> None:
        """``edits``: sorted (old start, old end, new length)."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._old: list[int] = []
        self._shift: list[int] = []  # new - old, after each edit
        shift = 0
        for start, end, length in edits:
            self._starts.append(start + shift)
            self._ends.append(start + shift + length)
            self._old.append(start)
            shift += length - (end - start)
            self._shift.append(shift)

    def __call__(self, pos: int) -> int:
        k = bisect.bisect_right(self._starts, pos) - 1
        if k < 0:
            return pos
        if pos < self._ends[k]:
            return self._old[k]
        return pos - self._shift[k]
