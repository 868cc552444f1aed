"""Application factory."""

from __future__ import annotations

from fastapi import FastAPI

from tbtwatch import __version__
from tbtwatch.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for one home directory."""
    app = FastAPI(title="tbtwatch", version=__version__)
    app.state.settings = settings

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
