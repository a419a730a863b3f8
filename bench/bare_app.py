"""The yardstick: a bare FastAPI endpoint that returns constant bytes.

The body has the size of the agents page being compared with (BENCH_BODY_BYTES), so the
difference with agenthub's hit path is only what each does per request. It is served
with the same uvicorn options as agenthub (one worker, uvloop, httptools).
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Response

from bench.yardsticks import body_of_size

BODY = body_of_size(int(os.environ.get("BENCH_BODY_BYTES", "6900")))

app = FastAPI()


@app.get("/api/agents")
async def agents() -> Response:
    return Response(BODY, media_type="application/json")
