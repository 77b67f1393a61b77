"""Application factory: one app, two surfaces (HTML for clinicians, JSON for systems)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import health
from app.api.v1 import router as api_v1
from app.cds import routes as cds
from app.config import Settings, get_settings
from app.db.engine import make_engine, make_sessionmaker
from app.domain.titration import load_protocols
from app.errors import install_error_handlers
from app.logs import configure_logging
from app.middleware import SecurityHeadersMiddleware
from app.web import router as web

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # Validated once at start-up: a broken protocol file stops the app, not a request.
        app.state.protocols = load_protocols()
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
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    app.include_router(health.router)
    app.include_router(api_v1.router)
    app.include_router(cds.router)
    app.include_router(web.router)
    install_error_handlers(app)
    return app
