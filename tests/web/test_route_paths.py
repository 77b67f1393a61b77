"""Templates' url_for (web/route_paths.py) remembers route paths: it must give exactly what
Starlette's request.url_for gives, for every named route, and never carry one request's
host or scheme into another's URL."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import Mount

from app.web import route_paths


def _request(app: FastAPI, host: str, scheme: str = "http", root_path: str = "") -> Request:
    return Request({
        "type": "http", "app": app, "router": app.router, "scheme": scheme,
        "server": (host, 443 if scheme == "https" else 80), "root_path": root_path,
        "path": "/", "query_string": b"", "headers": [(b"host", host.encode())],
    })  # fmt: skip


def test_every_named_route_gives_starlettes_url_twice(app: FastAPI) -> None:
    named: list[tuple[str, dict[str, object]]] = [
        (name, {p: 7 for p in re.findall(r"\{(\w+)", path)}) for name, path in _named(app)
    ]
    named.append(("static", {"path": "css/app.css"}))
    assert len(named) > 50
    for scheme, host, root in (("http", "a.example", ""), ("https", "b.example", "/titrate")):
        request = _request(app, host, scheme, root)
        for name, params in named:
            expected = str(request.url_for(name, **params))
            for _ in range(2):  # the first computes, the second is remembered
                assert str(route_paths.url_for(request, name, **params)) == expected


def _named(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        # FastAPI keeps included routers as nodes; their contexts carry the full path.
        nodes = getattr(route, "effective_route_contexts", None)
        contexts: list[Any] = nodes() if nodes is not None else [route]
        found += [(c.name, c.path) for c in contexts if getattr(c, "name", None)]
    return found


def test_a_remembered_path_takes_each_requests_own_host_and_scheme(app: FastAPI) -> None:
    first = route_paths.url_for(_request(app, "a.example"), "plans:preview", patient_id=3)
    second = route_paths.url_for(_request(app, "b.example", "https"), "plans:preview", patient_id=3)
    assert str(first) == "http://a.example/patients/3/plans/preview"
    assert str(second) == "https://b.example/patients/3/plans/preview"
    other = route_paths.url_for(_request(app, "a.example"), "plans:preview", patient_id=4)
    assert str(other).endswith("/patients/4/plans/preview")
