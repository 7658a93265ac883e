"""Running coroutines together so that none outlives the call and no cancellation is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

__all__ = ["gather_or_cancel"]

T = TypeVar("T")


async def gather_or_cancel(coroutines: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run coroutines as tasks and return their results; the first failure cancels the others,
    and none outlives the call.

    Not a TaskGroup: Python 3.11's swallows a cancellation of the caller that meets a child's
    failure, so a caller cancelled then would go on as if it were not (issue 13: a crawl stopped
    by Ctrl-C hung on a fetcher that, told its batch was too large, fetched its parts).
    """
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
