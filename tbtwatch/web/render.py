"""Jinja2 page rendering: autoescaped templates with the interface language, CSRF token and helpers."""

from __future__ import annotations

from datetime import date
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from tbtwatch import members
from tbtwatch.web.deps import WebContext
from tbtwatch.web.i18n import LANG_COOKIE, resolve_lang, translator
from tbtwatch.web.security import Keys, csrf_token

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("tbtwatch.web", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def deadline_text(deadline: date | str | None, today: date, t: Any) -> str:
    """Days left to comment, in words."""
    if not deadline:
        return str(t("no_deadline"))
    day = date.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    left = (day - today).days
    if left < 0:
        return str(t("closed"))
    if left == 0:
        return str(t("due_today"))
    return str(t("days_left", n=left))


def render(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``templates/<name>`` in the request's language; remember an explicit ``?lang=`` choice."""
    ctx: WebContext = request.app.state.ctx
    keys: Keys = request.app.state.keys
    lang = resolve_lang(request)
    t = translator(lang)
    today = ctx.today()
    other = "en" if lang == "zh" else "zh"
    switched = request.url.include_query_params(lang=other)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "t": t,
        "today": today,
        "csrf": csrf_token(keys, request.state.csrf_nonce),
        "lang_url": f"{switched.path}?{switched.query}",
        "member_name": (members.chinese_name if lang == "zh" else members.english_name),
        "cluster_name": lambda cid: ctx.cluster_name(cid, lang),
        "deadline_text": lambda d: deadline_text(d, today, t),
        "admin_enabled": ctx.settings.secrets.admin_token is not None,
    }
    values.update(context)
    html = _ENV.get_template(name).render(values)
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response
