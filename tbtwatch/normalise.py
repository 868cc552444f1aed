"""Cleaning shared by every parser: text artefacts, dates, HS/ICS cells, lists, kind and document type.

Each function either returns a clean value or raises :class:`tbtwatch.errors.ValidationError` with a
reason fit for a quarantine record.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime

from tbtwatch.errors import ValidationError

_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_NO_DATE = frozenset(
    {
        "",
        "-",
        "--",
        "n/a",
        "na",
        "none",
        "not stated",
        "not applicable",
        "not known",
        "to be determined",
        "tbd",
        "unknown",
        "null",
        "nil",
    }
)
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_D_MON_Y = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
_MON_D_Y = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_ZH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
_HS = re.compile(r"(?:^|[;\n])\s*(\d{2}(?:[.\s]?\d{2}){0,4})\b(?=\s*(?:-|–|$|;|\n))")
_ICS = re.compile(r"(?:^|[;\n])\s*(\d{2}(?:\.\d{3}(?:\.\d{2})?)?)(?=\s*(?:-|–|$|;|\n))")
_HYPERLINK = re.compile(r'^=HYPERLINK\(\s*"([^"]*)"\s*(?:[,;]\s*"([^"]*)"\s*)?\)$', re.IGNORECASE | re.DOTALL)
MIN_YEAR, MAX_YEAR = 1947, 2100


def clean_text(value: object) -> str:
    """Text without Excel ``_x000D_`` escapes, HTML entities, odd spaces and blank-line runs."""
    if value is None:
        return ""
    text = str(value)
    text = _EXCEL_ESCAPE.sub(lambda m: _excel_char(m.group(1)), text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def _excel_char(hexcode: str) -> str:
    code = int(hexcode, 16)
    if code == 0x0D:
        return ""  # Excel writes CR as _x000D_ before a real newline
    if code < 0x20 and code not in (0x09, 0x0A):
        return " "
    return chr(code)


def html_to_text(value: object) -> str:
    """Plain text from an HTML fragment (API fields arrive with markup)."""
    if value is None:
        return ""
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li)\s*/?>", "\n", str(value))
    return clean_text(html.unescape(_TAG.sub(" ", text)))


def parse_date(value: object, field: str = "date") -> date | None:
    """A date from a cell or JSON value: date/datetime, ISO, dd/mm/yyyy, yyyy/mm/dd, '11 June 2025', '2025年6月11日'.

    Empty and 'not stated'-like values give None; anything else unparseable raises ValidationError.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _check_year(value.date(), field, value)
    if isinstance(value, date):
        return _check_year(value, field, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValidationError(f"{field}: number {value!r} is not a date")
    text = clean_text(value)
    if text.lower().rstrip(".") in _NO_DATE:
        return None
    parsed = _parse_date_text(text)
    if parsed is None:
        raise ValidationError(f"{field}: cannot read {text[:60]!r} as a date")
    return _check_year(parsed, field, text)


def _parse_date_text(text: str) -> date | None:
    try:
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _YMD.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            # ePing and WTO documents write day first (dd/mm/yyyy), never month first
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _D_MON_Y.match(text):
            month = _MONTHS.get(m[2].lower())
            return date(int(m[3]), month, int(m[1])) if month else None
        if m := _MON_D_Y.match(text):
            month = _MONTHS.get(m[1].lower())
            return date(int(m[3]), month, int(m[2])) if month else None
        if m := _ZH.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


def _check_year(d: date, field: str, raw: object) -> date:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValidationError(f"{field}: {raw!s:.40} is outside {MIN_YEAR}-{MAX_YEAR}")
    return d


def split_hs(cell: object) -> list[str]:
    """HS codes from an ePing cell like ``910212 - Wrist-watches, ...; 8517 - Telephone sets``."""
    text = clean_text(cell)
    if not text:
        return []
    codes = [re.sub(r"\D", "", c) for c in _HS.findall(text)]
    return list(dict.fromkeys(c for c in codes if 2 <= len(c) <= 10))


def split_ics(cell: object) -> list[str]:
    """ICS codes from an ePing cell like ``39.040.10 - Watches; 43.080 - Commercial vehicles``."""
    text = clean_text(cell)
    if not text:
        return []
    return list(dict.fromkeys(_ICS.findall(text)))


def split_list(cell: object) -> list[str]:
    """A ``;``-separated cell as a list without empty or repeated entries."""
    text = clean_text(cell)
    return list(dict.fromkeys(p.strip() for p in re.split(r";|\n", text) if p.strip()))


def hyperlink(value: object) -> tuple[str, str]:
    """``(url, text)`` of an Excel ``=HYPERLINK("url","text")`` formula, or ``("", value)`` for plain text."""
    text = "" if value is None else str(value).strip()
    m = _HYPERLINK.match(text)
    if not m:
        return "", clean_text(text)
    url = m[1].strip()
    return url, clean_text(m[2] if m[2] is not None else m[1])


def kind_from_text(*values: str) -> str | None:
    """``tbt`` or ``sps`` from the first value that tells (``(TBT)``, ``G/SPS/``, ``TBTN``), else None.

    Pass the most authoritative evidence first (area, objectives, notification type, then links).
    """
    for value in values:
        text = (value or "").upper()
        tbt = text.strip() == "TBT" or "(TBT)" in text or "/TBT" in text or "TBTN" in text
        sps = text.strip() == "SPS" or "(SPS)" in text or "/SPS" in text
        if tbt != sps:
            return "tbt" if tbt else "sps"
    return None


def doc_type_from_notification_type(text: str) -> str | None:
    """Document type from ePing's 'Notification type' (``Addendum to Regular Notification`` -> addendum)."""
    t = text.lower()
    for word, doc_type in (
        ("corrigend", "corrigendum"),
        ("addend", "addendum"),
        ("revision", "revision"),
        ("supplement", "supplement"),
        ("emergency", "emergency"),
        ("regular", "regular"),
    ):
        if word in t:
            return doc_type
    return None


_STOPWORDS = {
    "en": {"the", "of", "and", "to", "for", "in", "is", "on", "with", "this", "that", "by", "are", "be"},
    "fr": {"le", "la", "les", "des", "et", "du", "pour", "en", "est", "sur", "une", "aux", "au", "dans"},
    "es": {"el", "la", "los", "las", "de", "del", "y", "para", "en", "por", "con", "que", "una", "se"},
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-zà-ÿ]+")


def guess_language(text: str, default: str = "en") -> str:
    """``zh``, ``en``, ``fr`` or ``es`` from character script and stop words (cheap, for routing only)."""
    sample = text[:600]
    if len(_CJK.findall(sample)) >= max(2, len(sample) // 10):
        return "zh"
    words = _WORD.findall(sample.lower())
    if not words:
        return default
    scores = {lang: sum(w in stops for w in words) for lang, stops in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else default
