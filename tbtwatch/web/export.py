"""Export of a result set to CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and XLSX (openpyxl).

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR)
get a leading apostrophe; control characters that XLSX cannot hold are dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence

from openpyxl import Workbook

from tbtwatch import members
from tbtwatch.models import Labels, Notice

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "通报号 Symbol"),
    ("kind", "类型 Kind"),
    ("doc_type", "文件类型 Document type"),
    ("member", "成员 Member"),
    ("member_zh", "成员中文 Member (zh)"),
    ("title_zh", "中文标题 Chinese title"),
    ("title", "标题 Title"),
    ("products", "产品 Products"),
    ("hs_codes", "HS 编码 HS codes"),
    ("distributed_on", "分发日期 Distributed"),
    ("comment_deadline", "评议截止 Comment deadline"),
    ("clusters", "产业集群 Clusters"),
    ("risk", "风险 Risk"),
    ("url", "链接 URL"),
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def rows(
    notices: Iterable[Notice], labels: dict[str, Labels], cluster_name: Callable[[str], str]
) -> list[list[str]]:
    """One row of cell texts per notice, in :data:`COLUMNS` order (made safe by the writers)."""
    out = []
    for n in notices:
        lab = labels.get(n.id)
        values = {
            "id": n.id,
            "kind": n.kind.value,
            "doc_type": n.doc_type.value,
            "member": n.member or "",
            "member_zh": members.chinese_name(n.member),
            "title_zh": n.title_zh or "",
            "title": n.title,
            "products": n.products,
            "hs_codes": " ".join(n.hs_codes),
            "distributed_on": n.distributed_on.isoformat() if n.distributed_on else "",
            "comment_deadline": n.comment_deadline.isoformat() if n.comment_deadline else "",
            "clusters": "、".join(cluster_name(c.cluster_id) for c in lab.clusters) if lab else "",
            "risk": lab.risk.value if lab else "",
            "url": n.url,
        }
        out.append([values[key] for key, _title in COLUMNS])
    return out


def safe_cell(value: str) -> str:
    """A cell text that no spreadsheet runs as a formula and that XLSX can store."""
    text = _ILLEGAL.sub("", value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(data: Sequence[Sequence[str]]) -> bytes:
    """CSV bytes (UTF-8 with BOM) with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([title for _key, title in COLUMNS])
    writer.writerows([safe_cell(c) for c in row] for row in data)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(data: Sequence[Sequence[str]]) -> bytes:
    """An XLSX workbook with one sheet, a header row and frozen panes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("notices")
    sheet.freeze_panes = "B2"
    sheet.append([title for _key, title in COLUMNS])
    for row in data:
        sheet.append([safe_cell(c) for c in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
