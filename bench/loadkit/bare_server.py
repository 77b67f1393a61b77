"""The bare FastAPI endpoint preview throughput is compared with, served as `titrate serve`
serves the app (`app.cli.serve`: same uvicorn options, same socket, same workers).

    python -m loadkit.bare_server PORT WORKERS      (with bench/ on PYTHONPATH)

Like the preview route it is a plain `def` handler (run in the thread pool) that parses a
JSON body and answers JSON; it reads no token, no database and runs no engine.
"""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI

from app.cli import serve

app = FastAPI()


@app.post("/bare")
def bare(body: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "fields": len(body)}


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    serve(
        "loadkit.bare_server:app",
        factory=False,
        host="127.0.0.1",
        port=port,
        workers=workers,
        forwarded_allow_ips="127.0.0.1",
    )
