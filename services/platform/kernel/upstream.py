"""What the services upstream of a consumer still hold back: events accepted but not yet published.

A consumer that reports progress ("everything accepted so far is matched") cannot see another
service's outbox table; each publishing service answers it at `OUTBOX_PATH` instead.
"""

from __future__ import annotations

import asyncio

import httpx

from kernel.internal import OUTBOX_PATH


async def pending_upstream(client: httpx.AsyncClient, urls: list[str]) -> dict[str, int | None]:
    """Pending outbox rows per upstream URL; None where the service did not answer (not settled)."""

    async def one(url: str) -> int | None:
        try:
            response = await client.get(url + OUTBOX_PATH, timeout=5)
            response.raise_for_status()
            return int(response.json()["pending"])
        except (httpx.HTTPError, KeyError, ValueError):
            return None

    counts = await asyncio.gather(*(one(url) for url in urls))
    return dict(zip(urls, counts, strict=True))
