"""How the HTML surface answers errors: a redirect to login, or an error page."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app.domain.titration.errors import TitrationError
from app.services.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound, StaleVersion
from app.web.deps import LoginRequired, PasswordChangeRequired
from app.web.htmx import is_partial, redirect
from app.web.templating import render

_PAGES: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "errors/404.html"),
    Forbidden: (403, "errors/403.html"),
    Conflict: (409, "errors/409.html"),
    StaleVersion: (409, "errors/409.html"),
    # Forms catch these and re-render with the message next to the field; this is the safety
    # net for a handler that did not, so bad input is a 422 page and never a 500.
    InvalidInput: (422, "errors/400.html"),
    TitrationError: (422, "errors/400.html"),
}


def render_web_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return redirect(request, str(request.url_for("auth:login_form")))
    if isinstance(exc, Busy):
        return _busy(request, exc)
    if isinstance(exc, PasswordChangeRequired):
        return redirect(request, str(request.url_for("account:password_form")))
    for exc_class, (status, template) in _PAGES.items():
        if isinstance(exc, exc_class):
            return render(request, template, {"message": str(exc)}, status_code=status)
    if isinstance(exc, RequestValidationError):
        return render(
            request, "errors/400.html", {"message": "The request was malformed."}, status_code=400
        )
    if isinstance(exc, HTTPException):
        template = "errors/404.html" if exc.status_code == 404 else "errors/400.html"
        return render(request, template, {"message": str(exc.detail)}, status_code=exc.status_code)
    return render(request, "errors/500.html", {}, status_code=500)


def _busy(request: Request, exc: Busy) -> Response:
    """503 with Retry-After. An htmx request (the live preview, a search) gets only the message,
    swapped into its own target (base.html's responseHandling for 503), so the page and the
    clinician's typed entries stay; a whole page gets the page saying nothing was saved."""
    if is_partial(request):
        response = render(request, "errors/_busy.html", {}, status_code=503)
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = render(request, "errors/503.html", {}, status_code=503)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response
