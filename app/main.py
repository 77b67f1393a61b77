"""Application factory: one app, two surfaces (HTML for clinicians, JSON for systems)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import health
from app.api.v1 import openapi as api_openapi
from app.api.v1 import router as api_v1
from app.cds import routes as cds
from app.config import Settings, get_settings
from app.db.audit_chain import install_keys
from app.db.engine import make_engine, make_sessionmaker
from app.edge import BodySizeLimitMiddleware
from app.errors import install_error_handlers
from app.logs import configure_logging
from app.middleware import SecurityHeadersMiddleware
from app.protocol_pickup import ProtocolPickupMiddleware
from app.request_limits import RequestLimiter
from app.services.protocol_feed import ProtocolFeed
from app.web import router as web
from app.web.preview_fragment import PREVIEW_READ_THREADS, FragmentMemory

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # One process, one deployment: every audit row it writes is keyed with these.
    install_keys(settings.audit_keys())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # Validated once at start-up: a broken protocol stops the app, not a request. The
        # engine reads each protocol's approved version in force today (issue 17); drafts
        # never reach it. The packaged files are the migration's seed.
        # Every process follows the database from then on (protocol_pickup.py).
        with app.state.sessionmaker() as session:
            feed = ProtocolFeed.at_start(session, check_seconds=settings.protocol_check_seconds)
        app.state.protocol_feed = feed
        app.state.protocols = feed.current
        # Made here, on the event loop that will use it (anyio asks which loop that is).
        app.state.preview_reads = anyio.CapacityLimiter(PREVIEW_READ_THREADS)
        yield
        engine.dispose()

    is_prod = settings.environment == "prod"
    app = FastAPI(
        title="Titrate",
        version="1",
        summary="Baclofen titration planner: patients, dosing plans, exports.",
        lifespan=lifespan,
        docs_url=None if is_prod else "/docs",
        redoc_url=None,
        openapi_url=None if is_prod else "/openapi.json",
        generate_unique_id_function=api_openapi.operation_id,
    )
    api_openapi.install(app)
    app.state.settings = settings
    app.state.token_limiter = RequestLimiter(
        settings.token_requests_per_minute, settings.request_burst
    )
    app.state.preview_fragments = FragmentMemory()
    app.state.user_limiter = RequestLimiter(
        settings.user_requests_per_minute, settings.request_burst
    )
    # The last added runs first: headers and request id on every answer, then the body cap
    # and the host check, both before any route, dependency or token check; innermost, the
    # look for newly approved protocols, for requests that passed those.
    app.add_middleware(ProtocolPickupMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_host_names)
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    app.include_router(health.router)
    # FastAPI walks the routers in order on every request; the API's refuses a path outside
    # /api/v1 in one step (app/routing.py), so the pages after it pay almost nothing for it.
    app.include_router(api_v1.router)
    app.include_router(cds.router)
    web.include_pages(app)
    install_error_handlers(app)
    return app
