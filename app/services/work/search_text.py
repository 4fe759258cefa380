"""How a ticket is written for the search index, and how a query is written to match it (docs/search.md).

A ticket's caller and description become ``tickets.search_text``: lower-case words separated by single
spaces, each run of Chinese characters written as its overlapping two-character pieces ("天花板渗水" →
"天花 花板 板渗 渗水"). Any two or more Chinese characters typed in a row then match a run of whole
pieces with a space on each side (" 渗水 "): at least three characters, which a trigram index (pg_trgm,
SQLite FTS5's trigram tokenizer) can look up, where a bare two-character word could not.

A unit is written as its numbers ("3栋-0102" and "3-102" both → "3-102"): ``tickets.unit_key``.
"""

from __future__ import annotations

import re
import unicodedata

CHINESE = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORDS = re.compile(rf"[{CHINESE}]+|[0-9a-z]+")
_CHINESE_RUN = re.compile(rf"[{CHINESE}]+")
_UNIT_PARTS = re.compile(r"[a-z]+|\d+")
# The shortest piece of a query a trigram index can look up.
INDEXED_LENGTH = 3
UNIT_KEY_LENGTH = 40


def _folded(text: str) -> str:
    """Full-width letters and digits as ASCII, lower case (what a Chinese keyboard may type)."""
    return unicodedata.normalize("NFKC", text).lower()


def search_words(text: str) -> list[str]:
    """The words of ``text`` as the index holds them: Latin and digit runs whole, Chinese runs in pieces of two."""
    words: list[str] = []
    for run in _WORDS.findall(_folded(text)):
        if _CHINESE_RUN.fullmatch(run) and len(run) > 1:
            words += [run[i:i + 2] for i in range(len(run) - 1)]
        else:
            words.append(run)
    return words


def search_text(*parts: str | None) -> str | None:
    """The indexed text of a ticket's caller and description (None when there is nothing to find)."""
    words = [word for part in parts if part for word in search_words(part)]
    return f" {' '.join(words)} " if words else None


def unit_key(code: str | None) -> str | None:
    """A unit's code by its numbers and letters, so "3栋-0102", "3-102" and "3栋102" read the same."""
    if not code:
        return None
    folded = _folded(code).strip()
    parts = _UNIT_PARTS.findall(folded)
    if any(part.isdigit() for part in parts):
        return "-".join(str(int(part)) if part.isdigit() else part for part in parts)[:UNIT_KEY_LENGTH]
    return re.sub(r"\s+", "", folded)[:UNIT_KEY_LENGTH] or None  # a common area, by its name


def term_pattern(term: str) -> str:
    """The piece of ``search_text`` a typed term (no spaces) must appear as: its words joined by spaces, with a
    space before a leading and after a trailing Chinese pair (a pair is a whole word of the index)."""
    words = search_words(term)
    if not words:
        return ""
    lead = " " if _is_pair(words[0]) else ""
    trail = " " if _is_pair(words[-1]) else ""
    return f"{lead}{' '.join(words)}{trail}"


def chinese_pieces(term: str) -> list[str]:
    """A long Chinese term cut into two-character words ("厨房漏水" → 厨房, 漏水), for matches that hold the words
    apart ("厨房水管漏水"); empty when the term has no Chinese run of four or more characters."""
    runs = [run for run in _CHINESE_RUN.findall(_folded(term)) if len(run) >= 4]
    return [piece for run in runs
            for piece in [run[i:i + 2] for i in range(0, len(run) - 1, 2)] + ([run[-2:]] if len(run) % 2 else [])]


def _is_pair(word: str) -> bool:
    return len(word) == 2 and _CHINESE_RUN.fullmatch(word) is not None
