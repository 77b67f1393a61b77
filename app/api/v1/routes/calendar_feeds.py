"""Subscribable calendar feeds (API.md §5.3): made and revoked by a client with plans:write,
served without a token at their secret address."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Path, Query, Request, Response, status

from app.api.v1.deps import PlansWriter, SessionDep
from app.api.v1.problems import problem_responses
from app.api.v1.schemas import OutputModel
from app.config import Settings
from app.exports.ical import ICS_MEDIA_TYPE, CalendarOptions, build_calendar
from app.printing.i18n import choose_language
from app.services import calendar_feeds as feed_service
from app.services.context import utc_now

router = APIRouter(tags=["exports"])
FEED_ROUTE = "api:calendar_feed"


class CalendarFeedOut(OutputModel):
    url: str
    qr_svg: str  # the address as a QR code (SVG), for the patient's phone camera


@router.post(
    "/patients/{patient_id}/calendar-feed",
    status_code=status.HTTP_201_CREATED,
    name="api:create_calendar_feed",
    responses=problem_responses(401, 403, 404, 422),
)
def create_calendar_feed(
    patient_id: int, request: Request, session: SessionDep, client: PlansWriter
) -> CalendarFeedOut:
    """A secret address serving the patient's current schedules as `text/calendar` without a
    token, for calendar apps to subscribe to; the answer holds it once, with a QR code of it.
    A new address revokes the earlier one. The feed names no patient (no name, MRN or birth
    date); every fetch is audited."""
    token = feed_service.create_feed(session, actor=client, patient_id=patient_id)
    url = str(request.url_for(FEED_ROUTE, token=token))
    qr = segno.make(url, error="m").svg_inline(scale=4, title="Calendar subscription")
    return CalendarFeedOut(url=url, qr_svg=qr)


@router.delete(
    "/patients/{patient_id}/calendar-feed",
    status_code=status.HTTP_204_NO_CONTENT,
    name="api:revoke_calendar_feed",
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_calendar_feed(patient_id: int, session: SessionDep, client: PlansWriter) -> Response:
    """Revokes the patient's feed address: it answers 404 from now on."""
    feed_service.revoke_feed(session, actor=client, patient_id=patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _ok() -> dict[int | str, Any]:
    content = {"text/calendar": {"schema": {"type": "string"}}}
    return {200: {"description": "RFC 5545 calendar", "content": content}}


@router.get(
    "/calendar-feeds/{token}.ics",
    name=FEED_ROUTE,
    response_class=Response,
    responses={**_ok(), **problem_responses(404, 422)},
)
def serve_calendar_feed(
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    request: Request,
    session: SessionDep,
    lang: Annotated[Literal["en", "de", "vi"] | None, Query()] = None,
) -> Response:
    """The patient's current schedules (no token: the address is the secret), in `?lang=` or
    the patient's language; 404 once revoked."""
    feed = feed_service.read_feed(
        session, token=token, request_id=request.scope.get("state", {}).get("request_id"),
        client_ip=request.client.host if request.client else None,
    )  # fmt: skip
    settings: Settings = request.app.state.settings
    content = build_calendar(
        feed.sources, CalendarOptions.from_settings(settings), now=utc_now(),
        language=choose_language(lang, preferred=feed.language), name="Baclofen",
    )  # fmt: skip
    return Response(content, media_type=ICS_MEDIA_TYPE)
