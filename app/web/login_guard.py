"""What the login rate limit needs from HTTP: the policy from settings and the client address.

X-Forwarded-For is believed only when the direct peer is one of our own proxies; anyone
else could write any address into it and so escape the per-address limit.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import Request

from app.config import Settings
from app.services.rate_limit import LoginLimits

Networks = tuple[IPv4Network | IPv6Network, ...]


def login_limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        max_failures_per_account=settings.login_max_failures_per_account,
        max_failures_per_client_ip=settings.login_max_failures_per_client_ip,
        window=timedelta(minutes=settings.login_failure_window_minutes),
        lockout_initial=timedelta(seconds=settings.login_lockout_initial_seconds),
        lockout_max=timedelta(seconds=settings.login_lockout_max_seconds),
    )


def client_ip(request: Request, trusted_proxies: Networks) -> str | None:
    """The client's address: the direct peer, or, behind our proxies, the nearest hop in
    X-Forwarded-For that is not one of them (hops further left were written by the client)."""
    peer = request.client.host if request.client else None
    if peer is None or not _is_trusted(peer, trusted_proxies):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return _normalised(hop) or peer
    return _normalised(hops[0]) if hops else peer


def _is_trusted(address: str, trusted_proxies: Networks) -> bool:
    normalised = _normalised(address)
    if normalised is None:
        return False
    parsed = ip_address(normalised)
    return any(parsed in network for network in trusted_proxies)


def _normalised(address: str) -> str | None:
    try:
        return str(ip_address(address))
    except ValueError:
        return None
