"""HTML to PDF on the server, with WeasyPrint (needs pango; DejaVu fonts cover Vietnamese).

The renderer reads nothing but our own static files: every URL in a document resolves against
a placeholder origin, and the fetcher answers only ``/static/...`` from the static folder. A
document can therefore never make the server fetch a remote or local file by a URL that came
from data.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
# Relative and root-relative links in a document resolve against this origin, which never
# leaves the process (.invalid is reserved, RFC 2606).
DOCUMENT_ORIGIN = "https://titrate.invalid/"
PDF_MEDIA_TYPE = "application/pdf"


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no types
    """Answers /static/<file> from the static folder and refuses every other URL."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        super().__init__(allowed_protocols=("https",), fail_on_errors=True)
        self._static_dir = static_dir.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}/" != DOCUMENT_ORIGIN or not parts.path.startswith(
            "/static/"
        ):
            raise FatalURLFetchingError(f"refused to fetch {parts.scheme}://{parts.netloc}")
        path = (self._static_dir / parts.path.removeprefix("/static/")).resolve()
        if not path.is_relative_to(self._static_dir) or not path.is_file():
            raise FatalURLFetchingError("no such static file")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})


def render_pdf(html: str) -> bytes:
    """The PDF of one HTML document (print media, its own @page rules), tagged as PDF/UA-1:
    a structure tree for screen readers, with the document's title (`<title>`), language
    (`<html lang>`) and author (`<meta name="author">`) in its metadata."""
    document = HTML(string=html, base_url=DOCUMENT_ORIGIN, url_fetcher=StaticOnlyFetcher())
    pdf = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    if pdf is None:  # only when a target is given
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)
