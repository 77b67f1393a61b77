"""The live preview's HTML fragment, remembered per what it shows.

htmx asks for the fragment on every pause in typing, and a planner keeps coming back to
states it has shown a moment ago: a digit typed and deleted, a box ticked and unticked, a
field left and re-entered. Computing and rendering the plan again is most of a fragment's
cost, and its answer cannot have changed, because the fragment is a function of

- the engine's request: the form as typed and the patient's facts as stored now (the patient
  is still read, and access checked, on every request: a weight changed elsewhere is in
  the very next fragment);
- the protocols in force (a newly approved version empties the memory);
- the override reasons and acknowledgements typed, which the fragment shows back;
- the viewer, whose role decides whether protocol names are links, and the site's address,
  which those links start with;
- the patient, so that a fragment is never served across patients, even for identical facts.

Those, and nothing else, make the key; and those, and nothing else, are what the fragment
is rendered from: `FRAGMENT_VARIABLES` names everything its templates may read, and
`tests/web/test_preview_fragment.py` fails when a template reads anything more, which would
otherwise let one state's fragment be shown for another.

At most `MAX_FRAGMENTS` per worker (each a few kilobytes), emptied when full.

The fragment's handlers are async: the fragment's one database read (the patient, a single
indexed row) runs in a worker thread through `read_for_preview`, at most
`PREVIEW_READ_THREADS` at once per worker; the rest of the fragment runs on the event loop.
With sixteen clinicians' previews in flight and a thread each, the threads and the loop
fought over Python's one interpreter lock: 2.2 ms of CPU (user and system) per fragment,
against 1.35 ms with two threads and 1.3 ms one request at a time, and a third fewer
fragments a second. Reads never wait for a writer (WAL on SQLite, MVCC on PostgreSQL), so
two threads keep them flowing.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.domain.titration import Patient, ProtocolSet
from app.services.context import Actor
from app.services.plan_codec import canonical_json
from app.web.plan_form import PlanForm, Preview, preview_for
from app.web.templating import templates

TEMPLATE = "plans/_preview.html"
PREVIEW_READ_THREADS = 2
# The names the fragment's templates (TEMPLATE and what it includes) may read: the context
# below and the environment's globals they use; `view` is set inside _preview.html. The
# context also carries `request`, for `url_for` alone (it reads only the base URL, which is
# in the key): a template that read the request itself would fail the test.
FRAGMENT_VARIABLES = frozenset(
    {"preview", "form", "clinician", "view", "can", "url_for", "max_reason_length"}
)
MAX_FRAGMENTS = 512
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ShownForm:
    """What the fragment shows of the form: the override reasons and the acknowledgements."""

    overrides: dict[str, str]
    acknowledged: tuple[str, ...]

    def key(self) -> tuple[object, ...]:
        return (tuple(sorted(self.overrides.items())), self.acknowledged)


class FragmentMemory:
    """Rendered fragments by key, for one set of protocols at a time (one per app)."""

    def __init__(self, limit: int = MAX_FRAGMENTS) -> None:
        self.limit = limit
        self._protocols: ProtocolSet | None = None
        self._fragments: dict[tuple[object, ...], tuple[bytes, int]] = {}
        self._lock = threading.Lock()

    def recall(self, protocols: ProtocolSet, key: tuple[object, ...]) -> tuple[bytes, int] | None:
        with self._lock:
            if protocols is not self._protocols:  # identity: a new approval is a new set
                self._protocols, self._fragments = protocols, {}
            return self._fragments.get(key)

    def keep(
        self, protocols: ProtocolSet, key: tuple[object, ...], made: tuple[bytes, int]
    ) -> None:
        with self._lock:
            if protocols is not self._protocols:
                return  # the protocols changed while this one was made: keep nothing
            if len(self._fragments) >= self.limit:
                self._fragments.clear()
            self._fragments[key] = made


def read_for_preview(request: Request, read: Callable[..., T], *args: object) -> Awaitable[T]:
    """`read(*args)` in a worker thread, among at most PREVIEW_READ_THREADS of this worker's."""
    limiter: anyio.CapacityLimiter = request.app.state.preview_reads
    return anyio.to_thread.run_sync(read, *args, limiter=limiter)


def respond(
    request: Request,
    *,
    clinician: Actor,
    patient_id: int,
    patient: Patient,
    form: PlanForm,
    protocols: ProtocolSet,
) -> Response:
    """The fragment for this form and patient: remembered, or computed and rendered once."""
    shown = ShownForm(dict(form.overrides), tuple(form.acknowledged))
    plan_request = form.to_request(patient)
    if plan_request is None:  # a field does not parse: a short message, nothing to remember
        return _response(*_render(request, clinician, preview_for(None, protocols), shown))
    key = (
        patient_id,
        canonical_json(plan_request),  # exact digits: "60" and "60.0" are different keys
        shown.key(),
        _viewer(clinician),
        str(request.base_url),
    )
    memory: FragmentMemory = request.app.state.preview_fragments
    made = memory.recall(protocols, key)
    if made is None:
        made = _render(request, clinician, preview_for(plan_request, protocols), shown)
        memory.keep(protocols, key, made)
    return _response(*made)


def _viewer(clinician: Actor) -> tuple[object, ...]:
    # Everything of the Actor but what differs per request (request id, client address).
    return (clinician.kind, clinician.id, clinician.name, clinician.role,
            clinician.clinic_id, clinician.system_admin)  # fmt: skip


def _render(
    request: Request, clinician: Actor, preview: Preview, shown: ShownForm
) -> tuple[bytes, int]:
    context: dict[str, Any] = {
        "request": request, "preview": preview, "form": shown, "clinician": clinician,
    }  # fmt: skip
    html = templates.get_template(TEMPLATE).render(context)
    return html.encode(), 422 if preview.error else 200


def _response(body: bytes, status: int) -> Response:
    return HTMLResponse(body, status_code=status, headers={"Vary": "HX-Request"})
