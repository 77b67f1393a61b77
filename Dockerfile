# syntax=docker/dockerfile:1
# Titrate container: `docker build -t titrate .`
# Migrations are a deploy step, never part of CMD:
#   docker run --rm -e TITRATE_SECRET_KEY=... -v titrate-data:/srv/titrate/data titrate titrate migrate
#   docker run -d -p 8000:8000 -e TITRATE_SECRET_KEY=... -e TITRATE_ALLOWED_HOSTS=titrate.example.org \
#       -v titrate-data:/srv/titrate/data titrate
# `titrate serve` applies the header (10 s) and idle (5 s) timeouts; behind a reverse proxy set
# TITRATE_FORWARDED_ALLOW_IPS to its address (default: X-Forwarded-* are not believed).

# --- htmx, pinned by package-lock.json, from the npm registry ---------------------------------
FROM node:20-slim AS htmx
WORKDIR /build
COPY package.json package-lock.json ./
# Only the runtime library: axe-core and vnu-jar are test tools.
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- Python dependencies, pinned by requirements.lock, in a venv ------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /srv/titrate
COPY pyproject.toml README.md requirements.lock ./
COPY app/ app/
# Editable on purpose: the app finds templates/, static/ and migrations/ next to app/, so it
# runs from /srv/titrate, where the runtime stage puts the same sources.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c requirements.lock -e .

# --- Runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    TITRATE_ENVIRONMENT=prod \
    TITRATE_DATABASE_URL=sqlite:////srv/titrate/data/titrate.db
# WeasyPrint writes the PDFs with pango; DejaVu fonts carry German and Vietnamese letters.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 titrate \
    && useradd --system --uid 10001 --gid titrate --home-dir /srv/titrate --no-create-home titrate
WORKDIR /srv/titrate
COPY --from=build /opt/venv /opt/venv
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY migrations/ migrations/
COPY alembic.ini pyproject.toml ./
COPY --from=htmx /build/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
RUN mkdir -p data && chown titrate:titrate data
USER titrate
VOLUME ["/srv/titrate/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["titrate", "serve", "--host", "0.0.0.0", "--port", "8000"]
