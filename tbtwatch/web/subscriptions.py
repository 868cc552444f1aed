"""Self-service subscriptions through a signed link, one-click unsubscribe (RFC 8058), admin pages.

Links use the unsubscribe token of :mod:`alerts.tokens` (``<address id>.<nonce>.<HMAC>``): the same
signed, revocable token opens ``/subscriptions/<token>`` (manage) and ``/unsubscribe/<token>``, the URL
that digests carry in ``List-Unsubscribe``. ``GET /unsubscribe/<token>`` only shows a confirmation
button; ``POST`` unsubscribes, either from that form (CSRF-checked) or from a mail client sending the
RFC 8058 body ``List-Unsubscribe=One-Click``. An unsubscribed address keeps its link: its manage page
offers to subscribe again (``POST /subscriptions/<token>/resubscribe``, CSRF-checked).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import FormData

from alerts.errors import RecipientError, TokenError
from alerts.recipients import Recipient, parse_recipients, unknown_clusters
from alerts.repository import AlertsRepository, StoredAddress, StoredRecipient, StoredSubscription, token_hash
from alerts.tokens import TokenSigner, signing_key
from tbtwatch.settings import Settings
from tbtwatch.store import Store
from tbtwatch.web import security
from tbtwatch.web.deps import Ctx, WebContext
from tbtwatch.web.errors import BadRequest, Forbidden, NotFound
from tbtwatch.web.i18n import resolve_lang, translator
from tbtwatch.web.render import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
ONE_CLICK = "One-Click"


# -- signed links ------------------------------------------------------------------------------------
def signer(settings: Settings) -> TokenSigner:
    """The token signer of this installation."""
    return TokenSigner(signing_key(settings))


def manage_path(settings: Settings, address: StoredAddress) -> str:
    """The self-service path of an address."""
    return f"/subscriptions/{signer(settings).make(address.id, address.token_nonce)}"


def resolve_token(store: Store, settings: Settings, token: str) -> tuple[StoredRecipient, StoredAddress]:
    """The recipient and address a genuine, unrevoked token names; :class:`TokenError` otherwise."""
    address_id, nonce = signer(settings).parse(token)
    repo = AlertsRepository(store)
    if repo.is_revoked(token_hash(token.strip())):
        raise TokenError("this link was revoked")
    found = repo.address(address_id)
    if found is None:
        raise TokenError("this link names an address that no longer exists")
    address, key = found
    if not hmac.compare_digest(address.token_nonce, nonce):
        raise TokenError("this link was revoked")
    rec = repo.get_recipient(key)
    if rec is None:
        raise TokenError("this link names a recipient that no longer exists")
    return rec, address


def _subscription_dict(s: StoredSubscription) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    for key in ("clusters", "hs_prefixes", "keywords", "members", "kinds"):
        if getattr(s, key):
            out[key] = list(getattr(s, key))
    if s.min_risk:
        out["min_risk"] = s.min_risk
    return out


def definition(rec: StoredRecipient, **changes: Any) -> dict[str, Any]:
    """A stored recipient in the recipients-file form (unsubscribed addresses stay unsubscribed on import)."""
    data: dict[str, Any] = {
        "id": rec.key,
        "type": rec.type,
        "name": rec.name,
        "organisation": rec.organisation,
        "addresses": [a.address for a in rec.addresses],
        "webhooks": [w.model_dump(mode="json", exclude_none=True) for w in rec.webhooks],
        "clusters": list(rec.clusters),
        "language": rec.language,
        "frequency": rec.frequency,
        "quiet_hours": rec.quiet_hours,
        "subscriptions": [_subscription_dict(s) for s in rec.subscriptions],
    }
    data.update(changes)
    return data


def _validated(data: Mapping[str, Any], known: set[str]) -> Recipient:
    try:
        rec = Recipient.model_validate(dict(data))
    except PydanticValidationError as exc:
        msgs = [str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors()]
        raise BadRequest("; ".join(msgs)) from None
    problems = unknown_clusters(rec, known) if known else []
    if problems:
        raise BadRequest("; ".join(problems))
    return rec


def _split(value: Any) -> list[str]:
    text = str(value or "").replace("，", ",").replace("、", ",")
    return [p.strip() for p in text.split(",") if p.strip()]


async def checked_form(request: Request) -> FormData:
    """The posted form, after the signed double-submit CSRF check (403 when it fails)."""
    form = await request.form()
    keys: security.Keys = request.app.state.keys
    if not security.csrf_valid(
        keys, request.cookies.get(security.CSRF_COOKIE), form.get(security.CSRF_FIELD)
    ):
        raise Forbidden("CSRF check failed", key="csrf_failed")
    return form


# -- self-service -------------------------------------------------------------------------------------
def _manage_page(
    request: Request, ctx: WebContext, token: str, *, status: int = 200, error: str = ""
) -> HTMLResponse:
    with ctx.store() as store:
        rec, address = resolve_token(store, ctx.settings, token)
    t = translator(resolve_lang(request))
    if request.query_params.get("resubscribed"):
        message = t("resubscribed", address=address.address)
    else:
        message = t("saved") if request.query_params.get("saved") else ""
    return render(
        request,
        "manage.html",
        status=status,
        rec=rec,
        address=address.address,
        unsubscribed=address.unsubscribed_at is not None,
        base=f"/subscriptions/{token}",
        unsubscribe_url=f"/unsubscribe/{token}",
        cluster_ids=list(ctx.clusters),
        message=message,
        error=error,
    )


@router.get("/subscriptions/{token}", response_class=HTMLResponse)
def manage(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """A recipient's own page: addresses, frequency, language and subscriptions."""
    return _manage_page(request, ctx, token)


def _save(ctx: WebContext, token: str, change: Any) -> None:
    with ctx.store() as store:
        rec, _address = resolve_token(store, ctx.settings, token)
        new = _validated(change(rec), set(ctx.clusters))
        AlertsRepository(store).import_recipients([new])
        log.info("recipient %s changed their subscriptions through their link", rec.key)


async def _post(request: Request, ctx: WebContext, token: str, change: Any) -> Response:
    try:
        _save(ctx, token, change)
    except (BadRequest, RecipientError) as exc:
        return _manage_page(request, ctx, token, status=400, error=str(exc))
    return RedirectResponse(f"/subscriptions/{token}?saved=1", status_code=303)


@router.post("/subscriptions/{token}/settings")
async def manage_settings(token: str, request: Request, ctx: Ctx) -> Response:
    """Change frequency and digest language."""
    form = await checked_form(request)
    return await _post(
        request,
        ctx,
        token,
        lambda rec: definition(rec, frequency=form.get("frequency"), language=form.get("language")),
    )


@router.post("/subscriptions/{token}/add")
async def manage_add(token: str, request: Request, ctx: Ctx) -> Response:
    """Add one subscription."""
    form = await checked_form(request)
    sub: dict[str, Any] = {"name": str(form.get("name") or "")}
    for key in ("keywords", "hs_prefixes", "members"):
        if _split(form.get(key)):
            sub[key] = _split(form.get(key))
    clusters = [str(c) for c in form.getlist("clusters") if str(c).strip()]
    if clusters:
        sub["clusters"] = clusters
    kinds = [str(k) for k in form.getlist("kinds") if str(k).strip()]
    if kinds:
        sub["kinds"] = kinds
    if form.get("min_risk"):
        sub["min_risk"] = str(form.get("min_risk"))

    def change(rec: StoredRecipient) -> dict[str, Any]:
        return definition(rec, subscriptions=[*definition(rec)["subscriptions"], sub])

    return await _post(request, ctx, token, change)


@router.post("/subscriptions/{token}/delete")
async def manage_delete(token: str, request: Request, ctx: Ctx) -> Response:
    """Remove one subscription (by its position in the list)."""
    form = await checked_form(request)
    raw = str(form.get("position") or "")
    if not raw.isdigit():
        raise BadRequest("position must be a number")
    position = int(raw)

    def change(rec: StoredRecipient) -> dict[str, Any]:
        subs = definition(rec)["subscriptions"]
        if position >= len(subs):
            raise BadRequest("no such subscription")
        return definition(rec, subscriptions=subs[:position] + subs[position + 1 :])

    return await _post(request, ctx, token, change)


@router.post("/subscriptions/{token}/resubscribe")
async def manage_resubscribe(token: str, request: Request, ctx: Ctx) -> Response:
    """Receive digests again at the address of the link, after an unsubscribe."""
    await checked_form(request)
    with ctx.store() as store:
        _rec, address = resolve_token(store, ctx.settings, token)
        changed = AlertsRepository(store).resubscribe_address(address.id)
    log.info("address %d subscribed again through its link (changed=%s)", address.id, changed)
    return RedirectResponse(f"/subscriptions/{token}?resubscribed=1", status_code=303)


# -- unsubscribe ----------------------------------------------------------------------------------------
@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """Confirmation page: a button that POSTs; a GET never unsubscribes (link scanners follow GETs)."""
    with ctx.store() as store:
        _rec, address = resolve_token(store, ctx.settings, token)
    return render(
        request,
        "unsubscribe.html",
        done=address.unsubscribed_at is not None,
        changed=False,
        address=address.address,
        action=f"/unsubscribe/{token}",
        manage_url=f"/subscriptions/{token}",
    )


@router.post("/unsubscribe/{token}")
async def unsubscribe_post(token: str, request: Request, ctx: Ctx) -> Response:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) or the confirmation form (CSRF-checked)."""
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == ONE_CLICK
    if not one_click:
        keys: security.Keys = request.app.state.keys
        if not security.csrf_valid(
            keys, request.cookies.get(security.CSRF_COOKIE), form.get(security.CSRF_FIELD)
        ):
            raise Forbidden("CSRF check failed", key="csrf_failed")
    with ctx.store() as store:
        _rec, address = resolve_token(store, ctx.settings, token)
        changed = AlertsRepository(store).unsubscribe_address(address.id, datetime.now(UTC))
    log.info("address %d unsubscribed (one-click=%s, changed=%s)", address.id, one_click, changed)
    if one_click:
        return PlainTextResponse("unsubscribed\n")
    return render(
        request,
        "unsubscribe.html",
        done=True,
        changed=changed,
        address=address.address,
        action="",
        manage_url=f"/subscriptions/{token}",
    )


# -- admin ------------------------------------------------------------------------------------------------
def is_admin(request: Request, ctx: WebContext) -> bool:
    """Bearer token or a valid session cookie."""
    if security.token_matches(ctx.settings, security.bearer(request.headers.get("authorization"))):
        return True
    keys: security.Keys = request.app.state.keys
    return security.admin_session_valid(keys, ctx.settings, request.cookies.get(security.ADMIN_COOKIE))


def _admin_page(
    request: Request,
    ctx: WebContext,
    *,
    status: int = 200,
    message: str = "",
    error: str = "",
    yaml_text: str = "",
) -> HTMLResponse:
    with ctx.store() as store:
        recipients = AlertsRepository(store).list_recipients()
    rows = [
        (r, [(a.address, manage_path(ctx.settings, a)) for a in r.addresses if a.active]) for r in recipients
    ]
    return render(
        request,
        "admin.html",
        status=status,
        recipients=rows,
        message=message,
        error=error,
        yaml_text=yaml_text,
    )


def _require_admin(request: Request, ctx: WebContext) -> None:
    if security.admin_token(ctx.settings) is None:
        raise Forbidden("TBTWATCH_ADMIN_TOKEN is not set", key="admin_disabled")
    if not is_admin(request, ctx):
        raise Forbidden("admin token required", key="forbidden")


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, ctx: Ctx) -> Response:
    """Recipients with their self-service links; import and remove."""
    if security.admin_token(ctx.settings) is None or not is_admin(request, ctx):
        return RedirectResponse("/admin/login", status_code=303)
    return _admin_page(request, ctx)


@router.get("/admin/login", response_class=HTMLResponse)
def admin_login_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The sign-in form."""
    enabled = security.admin_token(ctx.settings) is not None
    return render(request, "admin_login.html", status=200 if enabled else 403, enabled=enabled, error="")


@router.post("/admin/login")
async def admin_login(request: Request, ctx: Ctx) -> Response:
    """Check the token; on success set the session cookie."""
    form = await checked_form(request)
    enabled = security.admin_token(ctx.settings) is not None
    if not enabled or not security.token_matches(ctx.settings, str(form.get("token") or "")):
        log.warning("admin sign-in refused")
        t = translator(resolve_lang(request))
        return render(request, "admin_login.html", status=403, enabled=enabled, error=t("wrong_token"))
    response = RedirectResponse("/admin", status_code=303)
    keys: security.Keys = request.app.state.keys
    response.set_cookie(
        security.ADMIN_COOKIE,
        security.make_admin_session(keys, ctx.settings),
        max_age=security.ADMIN_SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/admin/logout")
async def admin_logout(request: Request) -> Response:
    """End the session."""
    await checked_form(request)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(security.ADMIN_COOKIE, path="/")
    return response


@router.post("/admin/recipients")
async def admin_import(request: Request, ctx: Ctx) -> Response:
    """Create or update recipients from YAML in the recipients-file format."""
    form = await checked_form(request)
    _require_admin(request, ctx)
    text = str(form.get("yaml") or "")
    try:
        data = yaml.safe_load(text)
        recipients = parse_recipients(data, known_clusters=set(ctx.clusters) or None, where="form")
        with ctx.store() as store:
            counts = AlertsRepository(store).import_recipients(recipients)
    except yaml.YAMLError as exc:
        return _admin_page(request, ctx, status=400, error=f"YAML: {exc}", yaml_text=text)
    except RecipientError as exc:
        return _admin_page(request, ctx, status=400, error=str(exc), yaml_text=text)
    return _admin_page(request, ctx, message=", ".join(f"{k} {v}" for k, v in counts.items()))


@router.post("/admin/recipients/{key}/delete")
async def admin_remove(key: str, request: Request, ctx: Ctx) -> Response:
    """Remove a recipient with its subscriptions."""
    await checked_form(request)
    _require_admin(request, ctx)
    with ctx.store() as store:
        removed = AlertsRepository(store).remove_recipient(key)
    if not removed:
        raise NotFound(f"no recipient {key[:100]!r}")
    return _admin_page(request, ctx, message=f"removed {key}")
