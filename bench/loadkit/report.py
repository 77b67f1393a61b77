"""What bench/load.py measured at each size, and the printed table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from loadkit import timing
from loadkit.server import Worker

MIB_PER_KIB = 1 / 1024


@dataclass
class SizeResult:
    patients: int
    plan_versions: int
    seed_seconds: float
    database_mib: float
    timings: dict[str, list[float]] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    wal_mib: float | None = None


@dataclass(frozen=True, slots=True)
class Rates:
    """Preview and bare requests per second, each over the same number of requests."""

    titrate: float
    bare: float
    requests: int
    in_flight: int
    rounds: int


def print_report(
    heading: str, results: Sequence[SizeResult], categories: Sequence[str], rates: Rates
) -> None:
    print(f"\n{heading}")
    for r in results:
        rss = ", ".join(
            f"{w.rss_kib * MIB_PER_KIB:.0f} (peak {w.peak_kib * MIB_PER_KIB:.0f})"
            for w in r.workers
        )
        wal = "" if r.wal_mib is None else f", WAL {r.wal_mib:.1f} MiB"
        print(
            f"  {r.patients:>7,} patients, {r.plan_versions:>7,} plan versions: "
            f"seeded in {r.seed_seconds:.1f} s, database {r.database_mib:,.0f} MiB{wal}; "
            f"RSS per worker {rss} MiB"
        )
    _print_latencies(results[0], results[-1], categories)
    print(
        f"\npreview throughput, {rates.in_flight} in flight, {rates.requests} requests each "
        f"({rates.rounds} alternating rounds): POST /api/v1/plans/preview {rates.titrate:.0f}/s, "
        f"bare FastAPI {rates.bare:.0f}/s, ratio {rates.titrate / rates.bare:.2f}"
    )


def _print_latencies(small: SizeResult, large: SizeResult, categories: Sequence[str]) -> None:
    head, tail = f"{small.patients:,} patients", f"{large.patients:,} patients"
    ratio = f"ratio ({large.patients // small.patients}x patients)"
    print(f"\n{'latency (ms)':<28} {head:>22} {tail:>22}   {ratio}")
    print(f"{'':<28} {'p50':>7}{'p95':>7}{'p99':>8} {'p50':>7}{'p95':>7}{'p99':>8}   p50  p95  p99")
    for category in categories:
        a = timing.percentiles(small.timings[category])
        b = timing.percentiles(large.timings[category])
        small_ms = f"{a.p50:7.1f}{a.p95:7.1f}{a.p99:8.1f}"
        large_ms = f"{b.p50:7.1f}{b.p95:7.1f}{b.p99:8.1f}"
        ratios = f"{b.p50 / a.p50:4.2f} {b.p95 / a.p95:4.2f} {b.p99 / a.p99:4.2f}"
        print(f"{category:<28} {small_ms} {large_ms}  {ratios}")
    print(f"({a.count} requests per row and size, all rows and sizes interleaved)")
