"""Hostile text for every free-text field (RELIABILITY.md S10, R6(d)), and how to check that
it is shown as text: escaped, never markup, never an attribute, never a template.

`PAYLOADS` go into names, medications, reasons, notes, token and clinic names (usernames and
MRNs refuse them); every field refuses `REFUSED_PAYLOADS`. `shown_as_text` parses a page
with html.parser and compares it with the same page rendered from plain text: the hostile
page may have no element or attribute the plain one lacks, no `on*` handler, no
`javascript:` link, no script of its own, no htmx attribute carrying the payload, and must
show the payload itself. `added_alike` and `rows_alike` check list pages and tables, and
`pdf_shows` and `off_the_paper` do the same job for text read back from a PDF.
All names here are made up; none is a real patient.
"""

from __future__ import annotations

import subprocess
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

# No payload starts or ends with whitespace: every surface trims the ends of what is typed,
# and a payload that lost its ends would no longer be found verbatim.
PAYLOADS: dict[str, str] = {
    "script_tag": "<script>alert(1)</script>",
    "attribute_breaker": '"><img src=x onerror=alert(1)>',
    "single_quote_breaker": "'><svg onload=alert(1)>",
    "jinja_expression": "{{7*7}}",
    "jinja_statement": "{% print 1 %}{{ config }}",
    "raw_block": "{% raw %}x{% endraw %}",
    "htmx_attributes": 'hx-get="/x" hx-trigger="load"',
    "htmx_element": '<div hx-get="/admin/users" hx-trigger="load">x</div>',
    "javascript_url": "javascript:alert(1)",
    # CR/LF: a line break that could start a new header, CSV row or iCalendar property.
    "crlf": "Line one\r\nX-Injected: yes",
    "control_characters": "Bell\x07 Escape\x1b[31m Tab\there",
    "line_separators": "Para\u2028graph\u2029end",
    # Implicit direction marks reorder nothing after them (the explicit controls are refused).
    "direction_marks": "Ann\u200fgnp.exe\u200e",
    "zero_width": "Ze\u200bro\u200dWidth",
    "cyrillic_lookalike": "\u0410d\u0430 P\u0430ul\u0430",  # Cyrillic А and а in "Ada Paula"
    "fullwidth_script": "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "entities": "&lt;b&gt; &amp; &#x3C;i&#62;",
    "closers": "<!-- x --> ]]> </textarea></title></script>",
    "spreadsheet_formula": '=HYPERLINK("https://example.invalid","x")',
}

# Refused wherever text is typed (app/domain/text.py): no escaping makes these safe to show.
REFUSED_PAYLOADS: dict[str, str] = {
    "nul": "Nul\x00here",
    "rtl_override": "Ann\u202egnp.exe",
    "rtl_embedding": "Ann\u202bx\u202c",
    "rtl_isolate": "Ann\u2067x\u2069",
}

# Attributes whose value a browser or htmx follows as a URL.
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "data"}
    | {
        f"{prefix}hx-{verb}"
        for prefix in ("", "data-")
        for verb in ("get", "post", "put", "patch", "delete")
    }
)
# Our own pages' one data: URL, the empty favicon that saves a request (templates/base.html).
_OUR_DATA_URLS = frozenset({"data:,"})
_OUR_HOSTS = frozenset({"", "testserver"})


def long_text(length: int, *, seed: str = "Ab<") -> str:
    """A string of exactly `length` characters that still carries markup characters."""
    return (seed * (length // len(seed) + 1))[:length]


def packed(payloads: Iterable[str], *, limit: int, separator: str = " ") -> list[str]:
    """The payloads joined into as few strings of at most `limit` characters as they fit."""
    packs: list[str] = []
    for payload in payloads:
        if len(payload) > limit:
            raise ValueError(f"{payload!r} is longer than {limit}")
        if packs and len(packs[-1]) + len(separator) + len(payload) <= limit:
            packs[-1] += separator + payload
        else:
            packs.append(payload)
    return packs


@dataclass
class PageShape:
    """What html.parser sees: elements with their attribute names, attributes, and text."""

    elements: Counter[tuple[str, tuple[str, ...]]] = field(default_factory=Counter)
    attributes: list[tuple[str, str, str]] = field(default_factory=list)
    scripts: list[tuple[str, str]] = field(default_factory=list)  # (src, inline text)
    text: str = ""

    def shows(self, payload: str) -> bool:
        return payload in self.text or any(payload in value for _, _, value in self.attributes)

    def count(self, payload: str) -> int:
        return self.text.count(payload) + sum(v.count(payload) for _, _, v in self.attributes)


class _ShapeParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape = PageShape()
        self._texts: list[str] = []
        self._script_src: str | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shape.elements[(tag, tuple(sorted(name for name, _ in attrs)))] += 1
        for name, value in attrs:
            self.shape.attributes.append((tag, name, value or ""))
        if tag == "script":
            self._script_src = dict(attrs).get("src") or ""
            self._script_text = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script_src is not None:
            self.shape.scripts.append((self._script_src, "".join(self._script_text)))
            self._script_src = None

    def handle_data(self, data: str) -> None:
        if self._script_src is not None:
            self._script_text.append(data)
        self._texts.append(data)

    def close(self) -> None:
        super().close()
        self.shape.text = "".join(self._texts)


def shape_of(html: str) -> PageShape:
    parser = _ShapeParser()
    parser.feed(html)
    parser.close()
    return parser.shape


def _followed_url(value: str) -> str:
    # Browsers ignore leading spaces and control characters, and tabs or newlines anywhere.
    kept = "".join(c for c in value if c not in "\t\n\r")
    return kept.lstrip("".join(chr(n) for n in range(0x21))).lower()


def live_markup(html: str) -> list[str]:
    """Markup no page of ours has, whatever data it shows: handlers, script or data URLs,
    inline scripts, scripts from anywhere but our own /static folder."""
    shape = shape_of(html)
    found = [f"<{tag} {name}=…>" for tag, name, _ in shape.attributes if name.startswith("on")]
    for tag, name, value in shape.attributes:
        url = _followed_url(value)
        scheme_run = url.startswith(("javascript:", "vbscript:", "data:"))
        if name in _URL_ATTRIBUTES and scheme_run and url not in _OUR_DATA_URLS:
            found.append(f'<{tag} {name}="{value[:60]}">')
    found += [f"<script>{text[:40]}</script>" for _, text in shape.scripts if text.strip()]
    for src, _ in shape.scripts:
        parts = urlsplit(src)
        if parts.netloc not in _OUR_HOSTS or not parts.path.startswith("/static/"):
            found.append(f'<script src="{src}">')
    return found


def shown_as_text(
    hostile_html: str, texts: Iterable[str], *, plain_html: str, payloads: Iterable[str] = ()
) -> list[str]:
    """Every way `hostile_html` fails to show `texts` as text, compared with the same page
    rendered from plain data (`plain_html`); an empty list when it shows them as text.
    `payloads`: every hostile text of the page's records (none may sit in an htmx attribute)."""
    return markup_problems(hostile_html, plain_html=plain_html, payloads=payloads) + (
        missing_texts(hostile_html, texts)
    )


def markup_problems(
    hostile_html: str, *, plain_html: str, payloads: Iterable[str] = ()
) -> list[str]:
    """Live markup, and elements or attributes that came from data: a (tag, attribute names)
    pair the plain render has fewer of. An htmx attribute whose value carries a payload is
    a problem too, even on an element the plain page also has."""
    hostile, plain = shape_of(hostile_html), shape_of(plain_html)
    problems = live_markup(hostile_html)
    extra = hostile.elements - plain.elements
    if extra:
        problems.append(f"elements or attributes a plain render lacks: {sorted(extra)}")
    for tag, name, value in hostile.attributes:
        if name.startswith(("hx-", "data-hx-")) and any(p in value for p in payloads):
            problems.append(f'<{tag} {name}="{value[:60]}"> carries a payload')
    return problems


def missing_texts(html: str, texts: Iterable[str]) -> list[str]:
    shape = shape_of(html)
    return [f"{text[:60]!r} is not shown as text" for text in texts if not shape.shows(text)]


def shown_as_often(
    hostile_html: str, plain_html: str, pairs: Iterable[tuple[str, str]]
) -> list[str]:
    """Each (hostile, plain) text shown as many times as its plain twin: nowhere cut off,
    swallowed by a comment or dropped."""
    hostile, plain = shape_of(hostile_html), shape_of(plain_html)
    return [
        f"{text[:60]!r} shown {hostile.count(text)} times, the plain text {plain.count(twin)}"
        for text, twin in pairs
        if hostile.count(text) != plain.count(twin)
    ]


def added_alike(before: str, plain_after: str, hostile_after: str, *, times: int = 1) -> list[str]:
    """For a page that lists every record (users, tokens, clinics): `times` hostile records
    must add `times` × the elements one plain record added."""
    start, plain, hostile = (
        shape_of(page).elements for page in (before, plain_after, hostile_after)
    )
    one = plain - start
    expected = Counter({key: count * times for key, count in one.items()})
    added = hostile - plain
    if one and added == expected and not plain - hostile:
        return []
    return [f"a plain record added {sorted(one)}, {times} hostile ones {sorted(added)}"]


def rows_alike(html: str, row_start: str) -> list[str]:
    """Every row that starts with `row_start` (e.g. '<tr id="audit-event-') has the same
    elements, whatever its texts. Data is escaped, so the raw start only comes from the
    template."""
    rows = [chunk.split("</tr>", 1)[0] for chunk in html.split(row_start)[1:]]
    shapes = {tuple(sorted(shape_of("<tr>" + row).elements.items())) for row in rows}
    return [] if len(shapes) <= 1 else [f"{len(rows)} rows in {len(shapes)} shapes"]


def squeezed(text: str) -> str:
    """Text as a PDF gives it back and as a reader sees it: no whitespace (lines wrap
    anywhere), no control or format characters (zero-width, bidi marks: never drawn)."""
    return "".join(
        c for c in text if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")
    )


def pdf_shows(text: str, payload: str) -> bool:
    return squeezed(payload) in squeezed(text)


def pdf_text(pdf: bytes, *, beyond_the_paper: bool = False) -> str:
    """The text of a PDF in the order it is drawn (pdftotext -raw: a word broken after a
    hyphen keeps it, a table cell stays whole). `beyond_the_paper` also reads what lies
    outside the pages, which pdftotext otherwise drops and a printer cuts off."""
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    area = ["-x", "-3000", "-y", "-3000", "-W", "9000", "-H", "9000"] if beyond_the_paper else []
    done = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", *area, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode().replace("\u00a0", " ")


def off_the_paper(pdf: bytes) -> str:
    """The characters drawn outside the pages (a name too long for its line), sorted."""
    on_paper, everywhere = (
        Counter(squeezed(pdf_text(pdf, beyond_the_paper=beyond))) for beyond in (False, True)
    )
    return "".join(sorted((everywhere - on_paper).elements()))
