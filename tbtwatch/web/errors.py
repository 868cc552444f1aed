"""Errors of the web app and how they are answered: a clear page (or JSON under /api), never a traceback.

TbtwatchError
└── WebError            base of what the web app raises on purpose (status code attached)
    ├── NotFound        404: unknown notice, page or recipient
    ├── BadRequest      400: a value the user can correct (the message says how)
    └── Forbidden       403: admin token missing or wrong, CSRF check failed
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts.errors import RecipientError, TokenError
from index.errors import IndexUnavailableError, QuerySyntaxError
from tbtwatch.errors import TbtwatchError
from tbtwatch.web.i18n import resolve_lang, translator

log = logging.getLogger(__name__)


class WebError(TbtwatchError):
    """Base of the web app's own errors."""

    status = 500

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class NotFound(WebError):
    """404."""

    status = 404


class BadRequest(WebError):
    """400."""

    status = 400


class Forbidden(WebError):
    """403."""

    status = 403


_TITLE_KEYS = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "bad_request", 503: "unavailable"}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/metrics")


def error_response(request: Request, status: int, detail: str, key: str = "") -> Response:
    """JSON ``{"detail": ...}`` for the API, an HTML page otherwise."""
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status)
    from tbtwatch.web.render import render  # the templates need the app state, set when this runs

    t = translator(resolve_lang(request))
    message = t(key or _TITLE_KEYS.get(status, "server_error"))
    return render(request, "error.html", status=status, message=message, detail=detail)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(WebError)
    async def _web(request: Request, exc: WebError) -> Response:
        return error_response(request, exc.status, str(exc), exc.key)

    @app.exception_handler(QuerySyntaxError)
    async def _query(request: Request, exc: QuerySyntaxError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(TokenError)
    async def _token(request: Request, exc: TokenError) -> Response:
        return error_response(request, 404, str(exc), "bad_link")

    @app.exception_handler(RecipientError)
    async def _recipient(request: Request, exc: RecipientError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(IndexUnavailableError)
    async def _index(request: Request, exc: IndexUnavailableError) -> Response:
        log.error("search index unavailable: %s", exc)
        return error_response(request, 503, "the search index is unavailable; run `tbtwatch reindex`")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
        return error_response(request, 400, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        response = error_response(request, exc.status_code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The traceback goes to the log under the route template (paths may hold signed tokens); the page says little.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unexpected error on %s %s", request.method, route, exc_info=exc)
        return error_response(request, 500, "", "server_error")
