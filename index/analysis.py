"""Text analysis shared by both backends, the query planner, the highlighter and the reference scan.

Two analyses run on every text field:

* **English** (``tbt_en``): words are runs of letters, marks, digits and ``_`` (Han characters excluded),
  joined across ``:``/``.``/``'`` between letters (``U.S``, ``manufacturer's``) and ``.``/``,`` between
  digits (``3.5``, ``1,000``) as Unicode word segmentation does; lower-cased, the Lucene English stop words
  removed (their positions are kept, so phrases behave as in Elasticsearch), Snowball English (Porter2)
  stemming. Elasticsearch's ``tbt_english`` analyzer is the same chain built from its standard parts.
* **CJK** (``tbt_cjk``): every Han character is one token; everything between Han characters is one
  separator token that keeps its position but is never queried, so a phrase of Han characters matches
  only where they are contiguous in the text: ``锂电池`` finds exactly the texts that contain the
  substring ``锂电池``. Short separators stay in the index as inert terms (dropping them would need a
  Python tokenizer, far too slow for a full rebuild); long ones are removed.
"""

from __future__ import annotations

import re
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
    parts = []
    for lo, hi in HAN_RANGES:
        parts.append(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}")
    return "".join(parts)


HAN_CLASS = f"[{_class_body()}]"
_HAN_RUN = re.compile(f"{HAN_CLASS}+")
_HAS_HAN = re.compile(HAN_CLASS)

# The same classes for the Rust regex engine (tantivy's regex tokenizer): literal characters in classes.
_RUST_HAN = HAN_CLASS
_RUST_LETTER = rf"[[\p{{L}}\p{{M}}\p{{Nl}}\p{{No}}_]--{_RUST_HAN}]"
_RUST_DIGIT = r"\p{Nd}"
# Unicode word segmentation (UAX #29), as Elasticsearch's standard tokenizer applies it: letters join
# across : . ' · ("standard:BPR", "U.S", "don't"), digits across . , ; ' ("3.5", "1,000"), and letters
# and digits join directly ("3.5V", "GB4806"). A chain of such runs is one token.
EN_TOKEN_PATTERN = rf"(?:{_RUST_LETTER}(?:[:.'·]{_RUST_LETTER})*|{_RUST_DIGIT}(?:[.,;']{_RUST_DIGIT})*)+"
CJK_TOKEN_PATTERN = rf"{_RUST_HAN}|[^{_class_body()}]+"

EN_ANALYZER = "tbt_en"
CJK_ANALYZER = "tbt_cjk"
#: Longest English token kept (bytes); longer runs are noise such as URLs without separators.
MAX_EN_TOKEN_BYTES = 100
#: Separator tokens of the CJK field at least this long (bytes) are dropped (positions kept).
CJK_SEPARATOR_DROP_BYTES = 5

#: Typographic apostrophes folded to ``'`` so ``manufacturer’s`` stems like ``manufacturer's``.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\uff07": "'"})


@lru_cache(maxsize=1)
def english_analyzer() -> tantivy.TextAnalyzer:
    """The ``tbt_en`` analyzer (built once)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(EN_TOKEN_PATTERN))
        .filter(tantivy.Filter.remove_long(MAX_EN_TOKEN_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=1)
def cjk_analyzer() -> tantivy.TextAnalyzer:
    """The ``tbt_cjk`` analyzer (built once)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(CJK_TOKEN_PATTERN))
        .filter(tantivy.Filter.remove_long(CJK_SEPARATOR_DROP_BYTES))
        .build()
    )


def prepare(text: str) -> str:
    """Text as both backends index it: typographic apostrophes folded (length is unchanged)."""
    return text.translate(_APOSTROPHES)


def english_tokens(text: str) -> list[tuple[int, str, int, int]]:
    """``(position, term, start, end)`` of every English token of ``text`` (character offsets)."""
    pre = english_analyzer().pre_tokenize(prepare(text))
    return [(t.position, t.text, t.char_offset_from, t.char_offset_to) for t in pre.tokens]


def english_terms(text: str) -> tuple[tuple[int, str], ...]:
    """Analysed terms of a query fragment with positions relative to the first one (stop-word gaps kept)."""
    toks = english_tokens(text)
    if not toks:
        return ()
    first = toks[0][0]
    return tuple((pos - first, term) for pos, term, _s, _e in toks)


def has_han(text: str) -> bool:
    """True when ``text`` contains a Han character."""
    return _HAS_HAN.search(text) is not None


def split_han(text: str) -> tuple[list[str], str]:
    """The Han runs of ``text`` and the rest (Han runs replaced by spaces)."""
    runs = _HAN_RUN.findall(text)
    rest = _HAN_RUN.sub(" ", text) if runs else text
    return runs, rest


def han_runs(text: str) -> list[str]:
    """Maximal runs of Han characters in ``text``."""
    return _HAN_RUN.findall(text)
