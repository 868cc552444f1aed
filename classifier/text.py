"""Text helpers shared by the rule matcher and the model: tokens, light stemming, CJK detection.

English keywords are matched on tokens, not on raw strings, so that word boundaries come for free
("pen" never matches "open"), plural and British/American spellings meet ("toys" = "toy",
"fibres" = "fiber"), and hyphens equal spaces ("e-bike" = "e bike").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[0-9a-zà-öø-ÿ]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")

#: British spellings -> the American form both sides are reduced to.
_SPELLING = {
    "fibre": "fiber",
    "colour": "color",
    "labelling": "labeling",
    "labelled": "labeled",
    "aluminium": "aluminum",
    "sulphur": "sulfur",
    "sulphite": "sulfite",
    "jewellery": "jewelry",
    "tyre": "tire",
    "centre": "center",
    "metre": "meter",
    "litre": "liter",
    "moulding": "molding",
    "mould": "mold",
    "grey": "gray",
    "modelling": "modeling",
    "travelling": "traveling",
    "licence": "license",
    "organisation": "organization",
    "standardisation": "standardization",
    "harmonised": "harmonized",
    "vapour": "vapor",
    "odour": "odor",
    "programme": "program",
}
_KEEP_S = ("ss", "us", "is", "ous", "ics", "sis")
_INVARIANT = frozenset({"lens", "series", "species", "news", "means", "chassis", "gas", "canvas", "aids"})


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Reduce an English token to a singular, American-spelling form (cheap rules, no dictionary)."""
    t = _SPELLING.get(token, token)
    if len(t) > 3 and t.endswith("s") and not t.endswith(_KEEP_S) and t not in _INVARIANT:
        if t.endswith("ies") and len(t) > 4:
            t = t[:-3] + "y"
        elif t.endswith(("ches", "shes", "xes", "zes", "sses", "enses")) or (
            t.endswith("oes") and len(t) > 5
        ):
            t = t[:-2]
        else:
            t = t[:-1]
        t = _SPELLING.get(t, t)
    return t


def fold(text: str) -> str:
    """Lower-case; fold full-width forms (ＰＦＡＳ -> pfas) but keep accents (French, Spanish need them)."""
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    """Stemmed Latin-script tokens of ``text`` (CJK is skipped: it is matched as substrings)."""
    # "men's" -> men (the possessive s is not a word)
    return [stem(t) for t in _TOKEN.findall(fold(text)) if t != "s"]


_HS_IN_TEXT = re.compile(r"\bHS\s*(?:codes?\s*(?:\(s\))?)?\s*:?\s*(\d{2,10}(?:\s*[;,]\s*\d{2,10})*)", re.I)
_ICS_IN_TEXT = re.compile(
    r"\bICS\s*(?:codes?\s*(?:\(s\))?)?\s*:?\s*(\d{2}(?:\.\d{3}){0,2}(?:\.\d{2})?(?:\s*[;,]\s*\d{2}(?:\.\d{3})?(?:\.\d{2})?)*)",
    re.I,
)


#: a phrase prepared for :class:`PhraseText`: its stemmed tokens, or its folded text when it is Chinese
PhraseKey = tuple[str, ...] | str


def phrase_key(phrase: str) -> PhraseKey:
    """``phrase`` prepared for :meth:`PhraseText.has`: matched like keywords (English on stemmed tokens,
    Chinese as a substring)."""
    return fold(phrase) if has_cjk(phrase) else tuple(tokens(phrase))


class PhraseText:
    """A text that prepared phrases are looked up in; it is tokenised or folded only when a phrase needs it."""

    __slots__ = ("_folded", "_text", "_toks")

    def __init__(self, text: str) -> None:
        self._text = text
        self._toks: list[str] | None = None
        self._folded: str | None = None

    def has(self, key: PhraseKey) -> bool:
        """Whether the phrase ``key`` (:func:`phrase_key`) occurs in the text."""
        if isinstance(key, str):
            if self._folded is None:
                self._folded = fold(self._text)
            return key in self._folded
        if self._toks is None:
            self._toks = tokens(self._text)
        toks, n = self._toks, len(key)
        return any(tuple(toks[i : i + n]) == key for i in range(len(toks) - n + 1) if toks[i] == key[0])


def codes_in_text(text: str) -> tuple[list[str], list[str]]:
    """HS and ICS codes written into free text: ``(HS code(s): 8702; 8703)``, ``(ICS code(s): 43.040)``."""
    hs = [
        c for m in _HS_IN_TEXT.finditer(text) for c in re.split(r"\s*[;,]\s*", m.group(1)) if len(c) % 2 == 0
    ]
    ics = [c for m in _ICS_IN_TEXT.finditer(text) for c in re.split(r"\s*[;,]\s*", m.group(1))]
    return list(dict.fromkeys(hs)), list(dict.fromkeys(ics))


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a CJK ideograph."""
    return _CJK.search(text) is not None


def cjk_runs(text: str) -> list[tuple[int, str]]:
    """``(start, run)`` for every run of CJK ideographs in ``text``."""
    return [(m.start(), m.group()) for m in _CJK_RUN.finditer(text)]


def spaced_cjk(text: str) -> str:
    """Put spaces around each CJK ideograph so word n-grams become character uni- and bigrams."""
    return _CJK_RUN.sub(lambda m: " " + " ".join(m.group()) + " ", text)


#: the opening of an exclusion; it runs to the next closing parenthesis
_EXCLUSION_OPEN = re.compile(
    r"[(（]\s*(?:excl\.?|excluding|except|other than|not including|sauf|à l'exclusion d|excepto|excluidos?|"
    r"con exclusión d|不包括|不含|除)",
    re.I,
)
_CLOSE = re.compile(r"[)）]")
#: the opening of a scope exclusion ("This standard does not apply to sewing machines designed exclusively
#: for industrial purposes"); it runs to the end of the sentence
_SCOPE_OPEN = re.compile(
    r"\b(?:(?:does|do|shall|will)\s+not\s+apply\s+to|(?:is|are)\s+not\s+applicable\s+to|"
    r"excluded\s+from\s+(?:its|the|this)\s+scope|se\s+excluyen|"
    r"no\s+(?:se\s+)?aplica(?:n|rá)?\s+a|ne\s+s['’]appliquen?t?\s+pas|sont\s+exclus|"
    r"(?:queda|quedan|está|están)\s+excluid[oa]s?|se\s+exceptúan|(?:does|do|shall)\s+not\s+cover)\b|"
    r"\b(?:excluded|exclusions?|exemptions?|exempted|excluid[oa]s|exclus)\s*:|不适用于",
    re.I,
)
_SENTENCE_END = re.compile(r"[.;!?。；！？\n]")
#: a word every scope-exclusion opening contains: most texts have none, and a substring test is much cheaper
#: than the pattern
_SCOPE_HINTS = (
    "not appl",
    "exclu",
    "no aplica",
    "no se aplica",
    "appliqu",
    "exceptú",
    "not cover",
    "exempt",
    "不适用",
)


#: the verb of an exclusion whose subject comes first ("Footwear, toys and bedding are not covered"): the
#: exclusion runs back to the start of its sentence or clause
_SCOPE_CLOSE = re.compile(
    r"\b(?:is|are)\s+(?:(?:also\s+)?not\s+covered|(?:also\s+)?excluded|exempt(?:ed)?\s+from)\b|"
    r"\b(?:does|do)\s+not\s+fall\s+(?:within|under)\b|\b(?:sont|est)\s+exclue?s?\b|"
    # "Lock cylinders are assessed separately under the Technical Regulation for Locks"
    r"\b(?:is|are)\s+(?:assessed|addressed|covered|dealt\s+with|regulated)\s+(?:separately|elsewhere|"
    r"by\s+(?:a\s+)?separate|under\s+(?:a\s+)?separate)\b",
    re.I,
)
#: where a sentence's clause begins: a sentence end, or a word that opens a new clause
_CLAUSE_START = re.compile(r"[.;!?。；！？\n]|\b(?:but|while|whereas|however)\b", re.I)
_CLOSE_HINTS = ("not covered", "exclu", "exempt", "not fall", "separate", "elsewhere")


def _without_leading_exclusions(text: str) -> str:
    """``text`` with each exclusion whose subject comes before its verb blanked out, from the start of its
    clause to the verb: "Footwear, textile toys and mattresses are excluded from the scope". Called only for a
    text with one of ``_CLOSE_HINTS``."""
    out: list[str] = []
    pos = 0
    # the last clause start seen, and how far the text has been searched for one: each part once
    clause = searched = 0
    for m in _SCOPE_CLOSE.finditer(text):
        for b in _CLAUSE_START.finditer(text, max(searched, pos), m.start()):
            clause = b.end()
        searched = m.start()
        # the exclusion starts at its clause, or where the previous one ended
        start = max(clause, pos)
        if not text[start : m.start()].strip():
            # the verb opens its clause ("Sont exclus les chaussures"): the exclusion follows it
            continue
        out += [text[pos:start], " "]
        pos = m.end()
        if text[pos : pos + 3].lstrip().startswith(":"):
            # "The following are excluded: toys, ..." names them after the verb
            end = _SENTENCE_END.search(text, pos)
            pos = end.end() if end else len(text)
    out.append(text[pos:])
    return "".join(out)


def without_exclusions(text: str) -> str:
    """``text`` with every exclusion blanked out: a bracketed one (an opening above up to the next closing
    parenthesis), a scope exclusion (up to the end of its sentence, or of the text) and one whose subject
    comes first (from the start of its clause: "Footwear and toys are not covered").

    One scan: a match found ahead of the current position is kept until the scan reaches it, a kind with no
    match ahead is not searched for again, and once a bracket opening has no closing parenthesis after it, no
    later one has either: neither many exclusions nor unclosed openings cost anything quadratic."""
    lower = text.lower()
    if any(hint in lower for hint in _CLOSE_HINTS):
        text = _without_leading_exclusions(text)
        lower = text.lower()
    out: list[str] = []
    pos = 0
    brackets = True
    scopes = any(hint in lower for hint in _SCOPE_HINTS)
    bracket: re.Match[str] | None = None
    scope: re.Match[str] | None = None
    while True:
        if brackets and (bracket is None or bracket.start() < pos):
            bracket = _EXCLUSION_OPEN.search(text, pos)
            brackets = bracket is not None
        if scopes and (scope is None or scope.start() < pos):
            scope = _SCOPE_OPEN.search(text, pos)
            scopes = scope is not None
        if (
            brackets
            and bracket is not None
            and (not scopes or scope is None or bracket.start() < scope.start())
        ):
            close = _CLOSE.search(text, bracket.end())
            if close is None:
                brackets = False
                continue
            out += [text[pos : bracket.start()], " "]
            pos = close.end()
        elif scopes and scope is not None:
            end = _SENTENCE_END.search(text, scope.end())
            out += [text[pos : scope.start()], " "]
            if end is None:
                return "".join(out)
            pos = end.end()
        else:
            break
    out.append(text[pos:])
    return "".join(out)
