"""Latency percentiles (one request in flight) and throughput (a fixed number in flight)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

# A request the sampler sends: method, URL, and an optional JSON body.
Call = tuple[str, str, object | None]


@dataclass(frozen=True, slots=True)
class Percentiles:
    p50: float
    p95: float
    p99: float
    count: int


def percentiles(seconds: Sequence[float]) -> Percentiles:
    """Nearest-rank percentiles in milliseconds."""
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000

    return Percentiles(rank(0.50), rank(0.95), rank(0.99), len(ordered))


def latencies(
    client: httpx.Client, calls: Sequence[Call], *, check: Callable[[httpx.Response], None]
) -> list[float]:
    """Send `calls` one after the other; every answer must pass `check`."""
    timings = []
    for method, url, body in calls:
        started = time.perf_counter()
        response = client.request(method, url, json=body)
        timings.append(time.perf_counter() - started)
        check(response)
    return timings


def throughput(
    make_client: Callable[[], httpx.Client], call: Call, *, requests: int, in_flight: int
) -> float:
    """Requests per second with `in_flight` clients, each sending until `requests` are done."""
    remaining = [requests]
    lock = threading.Lock()

    def take() -> bool:
        with lock:
            remaining[0] -= 1
            return remaining[0] >= 0

    def drive() -> None:
        method, url, body = call
        with make_client() as client:
            try:
                for _ in range(10):  # warm the connection and the worker
                    client.request(method, url, json=body).raise_for_status()
            except BaseException:
                barrier.abort()  # the others stop waiting; result() below re-raises this
                raise
            barrier.wait(timeout=120)
            while take():
                client.request(method, url, json=body).raise_for_status()

    barrier = threading.Barrier(in_flight + 1)
    with ThreadPoolExecutor(in_flight) as pool:
        futures = [pool.submit(drive) for _ in range(in_flight)]
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            for future in futures:
                future.result()
            raise
        started = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return requests / elapsed
