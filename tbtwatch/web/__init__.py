"""The web app: FastAPI pages (Chinese first, English switch) and a JSON API over the store and the index.

``create_app(settings)`` builds the ASGI app; :class:`tbtwatch.web.server.WebServer` runs it with uvicorn in a
background thread (used by ``tbtwatch web``, ``tbtwatch serve`` and ``tbtwatch demo``).
"""

from tbtwatch.web.app import create_app

__all__ = ["create_app"]
