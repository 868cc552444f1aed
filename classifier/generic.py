"""Does a title name a thing, or only the kind of measure?

"Draft Technical Regulation No. 12/2026" or "Proyecto de Resolución" names no product: a notice titled so
is about whatever its HS codes say. "Stable bleaching powder – Specification" names one, and when neither
the cluster words nor the text model know it, an HS code naming a cluster (845140, textile machines) is a
coding slip (criterion 1 of the gold README). Words of the measure's kind, of legal form and of the
notifying member are not things; nor are standards' reference numbers and their issuers' acronyms.
"""

from __future__ import annotations

import re

from classifier.text import cjk_runs, tokens

#: reference acronyms and numbers: "DMS 575:2024", "PROY-NOM-003-SE-2026", "RTCR 503", "GSO 1943", "KS"
_REFERENCE = re.compile(r"\b[A-Z][A-Z0-9./:-]{1,}\b")

#: words of a measure's kind and legal form (en, fr, es; stemmed as :func:`classifier.text.tokens` leaves them)
_GENERIC = frozenset(
    tokens(
        """
    draft drafts proposed proposal final interim technical regulation regulatory decree resolution order notice
    notification rule standard specification requirement amendment amending amend revision revised revise
    national mandatory ministerial minister ministry commission implementing delegated directive law act bill
    number part general safety conformity assessment labeling label marking certification certificate procedure
    annex addendum corrigendum federal official state government code supplementing repealing laying down
    establishing concerning relating respect respecting certain product good item republic kingdom union
    european customs eurasian economic council parliament implementation provision measure guideline method
    test testing their which with from into under this that these those about other such also shall must
    establish issue issuing issued approval approving approve adoption adopting replacing replace
    replaced modification modifying modify update updating entry force date year period transitional extension
    extending system scheme program registration register import importation export exportation
    people china chinese notified member members authority agency bureau institute organization
    standardization harmonized mercosur gulf cooperation countries country region regional
    projet règlement reglement technique décret decret arrêté arrete norme modifiant relatif relative portant
    fixant concernant exigence exigences produit produits ministériel ministeriel application annexe annexes
    pour dans avec sans leur relatifs relatives
    proyecto reglamento técnico tecnico técnica tecnica resolución resolucion oficial decreto modifica
    modificación modificacion establece requisito requisitos producto productos acuerdo mediante cual expide
    emite ministerio nacional norma normas sobre para entre cuales según segun dicta dictan disposiciones
    """
    )
)
#: the same in Chinese titles (substrings removed before looking for a thing's name)
_GENERIC_ZH = (
    "技术法规",
    "国家标准",
    "行业标准",
    "强制性",
    "草案",
    "征求意见稿",
    "法规",
    "规定",
    "标准",
    "修订",
    "修改",
    "修正",
    "决定",
    "通知",
    "公告",
    "要求",
    "技术",
    "规范",
    "关于",
    "实施",
    "细则",
    "办法",
    "管理",
    "条例",
    "安全",
    "部分",
    "第",
    "号",
    "的",
    "和",
    "及",
)


def names_a_thing(title: str, member: str | None = None) -> bool:
    """Whether ``title`` has a word other than the kind of measure, its legal form, its reference and the
    notifying member's name."""
    own = set(tokens(member or ""))
    plain = _REFERENCE.sub(" ", title)
    for token in tokens(plain):
        if len(token) >= 4 and not token.isdigit() and token not in _GENERIC and token not in own:
            return True
    for _, run in cjk_runs(plain):
        for word in _GENERIC_ZH:
            run = run.replace(word, " ")
        if any(len(part) >= 2 for part in run.split()):
            return True
    return False
