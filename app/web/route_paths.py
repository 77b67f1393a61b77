"""`url_for` for templates, with each route's path remembered.

FastAPI (≥ 0.16x keeps included routers as nodes) finds a route's path by walking every
route and router node on each call: a profile of the live-preview fragment put half its time
in the ten `url_for` calls its template makes. The routes are fixed once the app is built,
so the path for a (route name, path parameters) pair never changes; only the absolute URL,
made from this request's base URL (scheme, host, root path), is made per call.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from starlette.datastructures import URL, URLPath
from starlette.requests import Request

MAX_PATHS = 4_096
_lock = threading.Lock()


def url_for(request: Request, name: str, /, **path_params: Any) -> URL:
    """As Starlette's `request.url_for`; the paths are remembered per app (`app.state`)."""
    router = request.scope.get("router")
    state = request.scope["app"].state if "app" in request.scope else None
    if router is None or state is None:
        return request.url_for(name, **path_params)
    # The type is part of the key: a convertor may render 5 and "5" alike, but need not.
    key = (name, *sorted((k, type(v), v) for k, v in path_params.items()))
    paths: dict[Hashable, URLPath] | None = getattr(state, "url_paths", None)
    if paths is None:
        with _lock:
            paths = getattr(state, "url_paths", None)
            if paths is None:
                paths = state.url_paths = {}
    try:
        known = paths.get(key)
    except TypeError:  # an unhashable parameter: nothing to remember it by
        return request.url_for(name, **path_params)
    if known is None:
        known = router.url_path_for(name, **path_params)
        with _lock:
            if len(paths) >= MAX_PATHS:
                paths.clear()  # many distinct ids: start again rather than grow
            paths[key] = known
    return known.make_absolute_url(base_url=request.base_url)
