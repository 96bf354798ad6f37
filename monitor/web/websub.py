"""``/websub/<key>``: where WebSub hubs verify our subscriptions and push what is new. Open
like /healthz (hubs sign nothing in), so the key is unguessable and every notification
must carry the HMAC of its body with the subscription's secret (``monitor.websub``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from monitor import metrics
from monitor.web.runtime import Runtime
from monitor.websub.callback import notified, verify

router = APIRouter(include_in_schema=False)


@router.get("/websub/{key}")
async def verification(request: Request, key: str) -> Response:
    runtime: Runtime = request.app.state.runtime
    params = dict(request.query_params)
    now = datetime.now(UTC)
    challenge = await asyncio.to_thread(verify, runtime.sessions, key, params, now)
    if challenge is None:
        return Response("not asked for", 404, media_type="text/plain")
    return Response(challenge, 200, media_type="text/plain")


@router.post("/websub/{key}")
async def notification(request: Request, key: str) -> Response:
    runtime: Runtime = request.app.state.runtime
    limit = runtime.config.fetch.max_feed_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            metrics.WEBSUB_NOTIFICATIONS.labels(outcome="too_large").inc()
            return Response(f"over {limit} bytes", 413, media_type="text/plain")
    status = await asyncio.to_thread(
        notified,
        runtime.sessions,
        key,
        bytes(body),
        request.headers.get("content-type", ""),
        request.headers.get("x-hub-signature"),
    )
    if status == 202:
        runtime.pushed()
    return Response(status_code=status)
