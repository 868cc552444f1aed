"""Application factory: routers, middleware (security, metrics), error handlers, static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tbtwatch import __version__
from tbtwatch.settings import Settings
from tbtwatch.web import api, errors, pages, subscriptions
from tbtwatch.web.deps import WebContext
from tbtwatch.web.metrics import MetricsMiddleware, Registry
from tbtwatch.web.security import Keys, SecurityMiddleware

#: Threads for sync handlers per process (searches and SQLite reads; see ``lifespan``).
SYNC_THREADS = 8
DESCRIPTION = (
    "浙江技术性贸易措施通报监测 — TBT/SPS notifications for Zhejiang exporters: search, notices, "
    "statistics, sources. Admin endpoints need `Authorization: Bearer <TBTWATCH_ADMIN_TOKEN>`."
)


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for one home directory."""
    ctx = WebContext(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync handlers run in anyio's thread pool (40 threads by default). Their work is mostly Python
        # holding the GIL, so many threads only trade the GIL back and forth: a few keep the tail shorter.
        anyio.to_thread.current_default_thread_limiter().total_tokens = SYNC_THREADS
        yield
        ctx.close()

    app = FastAPI(
        title="tbtwatch",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # /docs is rendered by pages.docs_page: Swagger UI would load scripts from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ctx = ctx
    app.state.keys = Keys(settings)
    app.state.metrics = Registry()
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(subscriptions.router)
    static = resources.files("tbtwatch.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    # outermost first: metrics time everything, including 413 answers of the security layer
    app.add_middleware(SecurityMiddleware, max_body_bytes=settings.web.max_body_bytes)
    app.add_middleware(MetricsMiddleware, registry=app.state.metrics)
    return app


def app_from_env() -> FastAPI:
    """The app for ``$TBTWATCH_HOME``: for ``uvicorn --factory tbtwatch.web.app:app_from_env --workers N``."""
    from tbtwatch.settings import load_settings

    return create_app(load_settings())
