"""One module per source; the module name is the spider name (see each spider's docstring)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any


@cache
def registry() -> dict[str, Any]:
    """Every spider class of this package by name (what ``scrapy list`` shows)."""
    from crawlers.base import BaseSpider

    out: dict[str, Any] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseSpider)
                and obj.__module__ == module.__name__
                and getattr(obj, "name", None)
            ):
                out[obj.name] = obj
    return dict(sorted(out.items()))
