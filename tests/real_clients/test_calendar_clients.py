"""Calendars read by ical.js (npm 2.2.1, Thunderbird's parser) and stored in a Radicale CalDAV
server (PyPI 3.9.0): 'import version 1, then version 2, expect only version 2's reminders'."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.real_clients.conftest import Live, revise, run_node, store

RADICALE_USER = ("patient", "unused")  # Radicale's auth type "none" takes any password


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Radicale server of this module's own on a free loopback port; its base URL."""
    folder = tmp_path_factory.mktemp("radicale")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / "radicale.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", f"--server-hosts=127.0.0.1:{port}",
         f"--storage-filesystem-folder={folder / 'collections'}", "--auth-type=none",
         "--rights-type=owner_only"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "Radicale did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _import(dav: httpx.Client, collection: str, ics: bytes) -> None:
    """What a calendar app does with an imported file: one CalDAV object per UID (with the
    time zones), PUT at the object's name; an object already there is replaced."""
    calendar = Calendar.from_ical(ics)
    zones = calendar.walk("VTIMEZONE")
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"])
        item = Calendar()
        for prop in ("PRODID", "VERSION"):
            item.add(prop, calendar[prop])
        for zone in zones:
            item.add_component(zone)
        item.add_component(event)
        put = dav.put(f"{collection}{uid}.ics", content=item.to_ical(),
                      headers={"Content-Type": "text/calendar; charset=utf-8"})  # fmt: skip
        assert put.status_code in (201, 204), put.text


def _reminders(texts: list[str]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = run_node("calendar_client.mjs", texts)
    return result


def test_importing_version_1_then_version_2_leaves_only_version_2s_reminders(
    live: Live, radicale: str
) -> None:
    with live.client() as client:
        plan_id, patient = store(client, "adult_oral_titration")
        first = client.get(f"/api/v1/plans/{plan_id}/calendar.ics").content
        revise(client, plan_id)
        second = client.get(f"/api/v1/plans/{plan_id}/calendar.ics").content
    with httpx.Client(base_url=radicale, auth=RADICALE_USER, timeout=30) as dav:
        collection = f"/patient/plan-{plan_id}/"
        made = dav.request("MKCALENDAR", collection)
        assert made.status_code == 201, made.text
        _import(dav, collection, first)
        _import(dav, collection, second)
        stored = dav.get(collection)
        assert stored.status_code == 200, stored.text
    v1, v2, server = _reminders([first.decode(), second.decode(), stored.text])
    assert server["reminders"] == v2["reminders"], "exactly version 2's reminders"
    assert set(v1["reminders"]) - set(v2["reminders"]), "version 1 had other reminders"
    assert not [r for r in server["reminders"] if "60" in r.split(" ", 1)[1]]
    # Version 2 is 15, 30, 45 mg/day for 3, 3, ... days: three doses a day, at 08, 12, 18 h.
    assert {e["uid"] for e in server["events"]} == {e["uid"] for e in v1["events"]}
    cancelled = [e for e in server["events"] if e["status"] == "CANCELLED"]
    assert cancelled
    assert all(e["alarms"] == 0 for e in cancelled)
    assert {e["sequence"] for e in server["events"]} == {1}
    for text in (first.decode(), second.decode(), stored.text):
        assert patient["family_name"] not in text
        assert patient["mrn"] not in text


def test_ical_js_reads_every_kind_of_plan_in_the_clinic_zone_and_each_language(
    live: Live,
) -> None:
    texts = []
    with live.client() as client:
        for scenario in ("adult_oral_titration", "oral_taper", "child_on_solution",
                         "itb_screening", "itb_titration"):  # fmt: skip
            plan_id, _ = store(client, scenario)
            for lang in ("en", "de", "vi"):
                response = client.get(f"/api/v1/plans/{plan_id}/calendar.ics?lang={lang}")
                assert response.status_code == 200, response.text
                texts.append(response.text)
    for calendar, text in zip(_reminders(texts), texts, strict=True):
        assert calendar["zones"] == 1
        assert calendar["events"]
        timed = [e for e in calendar["events"] if e["starts"] and "T" in e["starts"][0]]
        assert all(e["zone"] == "Europe/Berlin" for e in timed)
        assert calendar["reminders"] or "CANCELLED" in text
    # 08:00 in Berlin in December is 07:00 UTC: ical.js applied our VTIMEZONE.
    first = _reminders([texts[0]])[0]
    assert first["reminders"][0].startswith("2026-12-01T07:00:00.000Z ")


def test_the_files_are_stored_by_radicale_unchanged_in_meaning(live: Live, radicale: str) -> None:
    """Radicale parses every object it stores (vobject) and refuses what it cannot read."""
    with live.client() as client:
        plan_id, _ = store(client, "itb_titration")
        ics = client.get(f"/api/v1/plans/{plan_id}/calendar.ics?lang=vi").content
    with httpx.Client(base_url=radicale, auth=RADICALE_USER, timeout=30) as dav:
        collection = f"/patient/itb-{plan_id}/"
        assert dav.request("MKCALENDAR", collection).status_code == 201
        _import(dav, collection, ics)
        stored = dav.get(collection).text
    direct, served = _reminders([ics.decode(), stored])
    assert served["reminders"] == direct["reminders"]


def test_a_subscribed_feed_reads_in_ical_js_without_a_token(live: Live) -> None:
    with live.client() as client:
        plan_id, patient = store(client, "adult_oral_titration")
        patient_id = client.get(f"/api/v1/plans/{plan_id}").json()["patient_id"]
        made = client.post(f"/api/v1/patients/{patient_id}/calendar-feed")
        assert made.status_code == 201, made.text
        url = made.json()["url"]
        revise(client, plan_id)
    feed = httpx.get(url, timeout=30)  # as a calendar app: no token
    assert feed.status_code == 200, feed.text
    assert patient["mrn"] not in feed.text
    [calendar] = _reminders([feed.text])
    assert calendar["reminders"]
    assert {e["sequence"] for e in calendar["events"]} == {1}
    assert any(e["status"] == "CANCELLED" for e in calendar["events"])
