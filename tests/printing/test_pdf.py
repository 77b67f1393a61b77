"""HTML to PDF: only our own static files are fetched, and Vietnamese survives the trip."""

from __future__ import annotations

import pytest
from weasyprint.urls import FatalURLFetchingError

from app.printing.pdf import DOCUMENT_ORIGIN, StaticOnlyFetcher, render_pdf
from tests.printing.pdf_text import pdf_pages


def test_the_stylesheet_is_served_from_the_static_folder() -> None:
    response = StaticOnlyFetcher().fetch(f"{DOCUMENT_ORIGIN}static/print.css")
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/static/print.css",  # another host
        "file:///etc/passwd",  # a local file
        f"{DOCUMENT_ORIGIN}static/../app/config.py",  # out of the static folder
        f"{DOCUMENT_ORIGIN}api/v1/patients",  # the app itself
        f"{DOCUMENT_ORIGIN}static/no-such-file.css",
    ],
)
def test_every_other_url_stops_the_rendering(url: str) -> None:
    with pytest.raises((FatalURLFetchingError, ValueError)):
        StaticOnlyFetcher().fetch(url)


def test_a_document_that_links_elsewhere_is_refused_rather_than_fetched() -> None:
    html = '<html><body><img src="https://example.org/track.png"></body></html>'
    with pytest.raises(FatalURLFetchingError):
        render_pdf(html)


def test_vietnamese_diacritics_come_back_out_of_the_pdf() -> None:
    text = "Không ngừng thuốc đột ngột: 2,5 mg mỗi ngày"
    html = '<html lang="vi"><head><link rel="stylesheet" href="/static/print.css"></head>'
    html += f"<body><p>{text}</p></body></html>"
    assert text in pdf_pages(render_pdf(html))[0]
