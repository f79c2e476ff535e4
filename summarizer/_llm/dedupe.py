"""Identical requests in flight at the same time are sent once: the first caller sends,
the others wait for its validated reply (or its error)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InFlight:
    """Futures of the replies (as JSON) being fetched, by cache key."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[str]] = {}

    async def wait(self, key: str) -> str | None:
        """The reply of an identical request already in flight, or None when there is none."""
        future = self._waiting.get(key)
        return None if future is None else await asyncio.shield(future)

    @asynccontextmanager
    async def leading(self, key: str) -> AsyncIterator[asyncio.Future[str]]:
        """Announce that this caller fetches ``key``; set the yielded future's result to
        share the reply. An error is shared with whoever waits."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            yield future
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._waiting[key]
