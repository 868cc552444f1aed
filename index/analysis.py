"""Text analysis shared by both backends, the query planner, the highlighter and the reference scan.

Two analyses run on every text field:

* **English** (``tbt_en``): words are runs of letters and digits, split at every other character
  (``U.S.`` is ``u`` ``s``, ``3.5V`` is ``3`` ``5v``, ``manufacturer's`` is ``manufactur`` ``s``);
  lower-cased, the Lucene English stop words removed with their positions kept (phrases behave as in
  Elasticsearch), Snowball English (Porter2) stemming. Every Han character counts as one position and
  is left to the CJK analysis. Elasticsearch's ``tbt_english`` analyzer produces the same terms at the
  same positions from standard parts (standard tokenizer, ``word_delimiter_graph``, ``lowercase``,
  ``stop``, ``stemmer: porter2``).
* **CJK** (``tbt_cjk``): every Han character is one term; whatever lies between Han characters takes a
  position and is dropped, so a phrase of Han characters matches only where they are contiguous in the
  text: ``锂电池`` finds exactly the texts that contain the substring ``锂电池``.

The embedded index feeds tantivy's fast built-in tokenizers a *view* of the text prepared in Python
with C-speed string operations (:func:`english_view`, :func:`cjk_view`): a regex tokenizer would be
about five times slower and a full rebuild would miss its time budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import tantivy

#: Code point ranges treated as Han (CJK ideographs): radicals, iteration/numeral marks, the unified
#: ideograph blocks and extensions, compatibility ideographs.
HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2E99),
    (0x2E9B, 0x2EF3),
    (0x2F00, 0x2FD5),
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FFFF),
    (0x30000, 0x3134F),
)


def _class_body() -> str:
    return "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in HAN_RANGES)


HAN_CLASS = f"[{_class_body()}]"
_HAN_CHAR = re.compile(HAN_CLASS)
_HAN_RUN = re.compile(f"{HAN_CLASS}+")
_NOT_HAN_RUN = re.compile(f"[^{_class_body()}]+")
_NON_HAN_WORD = re.compile(rf"[^\W_{_class_body()}]")
# what tantivy's simple tokenizer calls a word (alphanumeric run), with each Han character on its own
_EN_TOKEN = re.compile(rf"[^\W_{_class_body()}]+|{HAN_CLASS}")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")

EN_ANALYZER = "tbt_en"
CJK_ANALYZER = "tbt_cjk"
#: Longest English token kept (bytes); longer runs are noise such as encoded blobs.
MAX_EN_TOKEN_BYTES = 100
#: A Lucene English stop word: stands in for a Han character (English view) or a run of other
#: characters (CJK view) so that it takes a position and is then dropped.
_PLACEHOLDER = "a"

#: Typographic apostrophes folded to ``'`` so that both backends see the same text.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\uff07": "'"})
_HAS_APOSTROPHE = re.compile("[\u2019\u2018\uff07]")


@lru_cache(maxsize=1)
def english_analyzer() -> tantivy.TextAnalyzer:
    """The ``tbt_en`` analyzer (built once)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_EN_TOKEN_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=1)
def cjk_analyzer() -> tantivy.TextAnalyzer:
    """The ``tbt_cjk`` analyzer for :func:`cjk_view` text (built once)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.custom_stopword([_PLACEHOLDER]))
        .build()
    )


def prepare(text: str) -> str:
    """Text as both backends index it: typographic apostrophes folded (length is unchanged)."""
    # translate() looks every character up: only pay for it where there is something to fold
    return text.translate(_APOSTROPHES) if _HAS_APOSTROPHE.search(text) else text


def english_view(text: str) -> str:
    """What tantivy's English field is given: each Han character replaced by a dropped placeholder."""
    return _HAN_CHAR.sub(f" {_PLACEHOLDER} ", text) if has_han(text) else text


def cjk_view(text: str) -> str:
    """What tantivy's CJK field is given: Han characters apart, each gap between them one placeholder."""
    return " ".join(_NOT_HAN_RUN.sub(_PLACEHOLDER, text))


@lru_cache(maxsize=200_000)
def term(word: str) -> str | None:
    """The English term of one word as :func:`english_tokens` gives it (None: stop word or too long)."""
    terms = english_analyzer().analyze(word)
    return terms[0] if terms else None


class Vocabulary:
    """Words seen so far grouped by their English term, so that a set intersection finds the words of a
    text that have a given term (the highlighter's cheap pass). Thread-safe enough: a reader works on the
    pair of sets it took, and a word is recorded under its term before it counts as known."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._by_term: dict[str, set[str]] = {}

    def words_with_terms(self, distinct: set[str], terms: set[str]) -> dict[str, set[str]]:
        """For each of ``terms``, the words of ``distinct`` whose term it is (Han characters excluded)."""
        known, by_term = self._known, self._by_term
        unknown = distinct - known
        if unknown:
            if len(known) + len(unknown) > self.limit:  # start afresh rather than grow without bound
                known, by_term = set(), {}
                self._known, self._by_term = known, by_term
            for word in unknown:
                t = term(word)
                if t is not None and not is_han_char(word):
                    by_term.setdefault(t, set()).add(word)
                known.add(word)
        out = {}
        for t in terms:
            forms = by_term.get(t)
            if forms:
                found = distinct & forms
                if found:
                    out[t] = found
        return out


#: The process-wide vocabulary of the highlighter.
VOCABULARY = Vocabulary()


def words(text: str) -> list[str]:
    """Every token of ``text`` in order (English words and single Han characters): a token's index in
    this list is its position in :func:`english_tokens`."""
    # ASCII text has no Han and its word characters are [A-Za-z0-9_]: the same tokens, found faster
    return _ASCII_TOKEN.findall(text) if text.isascii() else _EN_TOKEN.findall(text)


def is_han_char(word: str) -> bool:
    """True when ``word`` is one Han character (a token the English analysis skips)."""
    return len(word) == 1 and _HAN_CHAR.match(word) is not None


def is_word_char(ch: str) -> bool:
    """True when ``ch`` belongs to an English word token (a letter or digit that is not Han)."""
    return _NON_HAN_WORD.match(ch) is not None


def tokens_from(text: str, start: int) -> Iterator[re.Match[str]]:
    """Tokens of ``text`` from ``start`` on: the same tokens as the whole text's when ``start`` begins one."""
    return _EN_TOKEN.finditer(text, start)


def english_tokens(text: str) -> list[tuple[int, str, int, int]]:
    """``(position, term, start, end)`` of every English term of ``text`` (character offsets).

    The same terms at the same positions as the embedded index (and Elasticsearch) produce: the
    highlighter and the reference scan rely on it.
    """
    out = []
    for pos, m in enumerate(_EN_TOKEN.finditer(text)):
        word = m.group()
        if len(word) == 1 and _HAN_CHAR.match(word):
            continue
        found = term(word)
        if found is not None:
            out.append((pos, found, m.start(), m.end()))
    return out


def english_terms(text: str) -> tuple[tuple[int, str], ...]:
    """Analysed terms of a query fragment with positions relative to the first one (stop-word gaps kept)."""
    toks = english_tokens(text)
    if not toks:
        return ()
    first = toks[0][0]
    return tuple((pos - first, t) for pos, t, _s, _e in toks)


def has_non_han_word(text: str) -> bool:
    """True when ``text`` has a letter or digit that is not Han (something for the English analysis)."""
    return _NON_HAN_WORD.search(text) is not None


def has_han(text: str) -> bool:
    """True when ``text`` contains a Han character."""
    return _HAN_CHAR.search(text) is not None


def split_han(text: str) -> tuple[list[str], str]:
    """The Han runs of ``text`` and the rest (Han runs replaced by spaces)."""
    runs = _HAN_RUN.findall(text)
    rest = _HAN_RUN.sub(" ", text) if runs else text
    return runs, rest


def han_runs(text: str) -> list[str]:
    """Maximal runs of Han characters in ``text``."""
    return _HAN_RUN.findall(text)
