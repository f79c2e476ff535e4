"""The event loop the command line and the sync API run their work on.

With the optional ``fast`` extra (``pip install 'summarizer[fast]'``) that is uvloop's,
whose sockets, timers and callbacks are C code: a wide run spends less of its own CPU per
model call (benchmarks/client_overhead.py measures how much). Without uvloop, or on Python
3.10, it is asyncio's own loop, and everything behaves the same.

``SUMMARIZER_EVENT_LOOP`` chooses: ``auto`` (the default: uvloop when it is installed),
``uvloop`` (an error when it is not) or ``asyncio``. It is read when a loop is made, like
``PYTHONASYNCIODEBUG``: the loop is the process's, not one configuration's.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar, cast

from summarizer._errors import ConfigError

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
EVENT_LOOP_VARIABLE = "SUMMARIZER_EVENT_LOOP"
EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def event_loop_name(env: Mapping[str, str] | None = None) -> str:
    """``uvloop`` or ``asyncio``: the loop :func:`run` uses under ``env`` (default: the
    process environment); raises ConfigError for a choice that cannot be had."""
    env = os.environ if env is None else env
    asked = (env.get(EVENT_LOOP_VARIABLE) or "auto").strip().lower()
    if asked not in EVENT_LOOPS:
        raise ConfigError(
            f"{EVENT_LOOP_VARIABLE}={asked!r}: choose one of {', '.join(EVENT_LOOPS)}"
        )
    if asked == "asyncio":
        return "asyncio"
    available = sys.version_info >= (3, 11) and importlib.util.find_spec("uvloop") is not None
    if available:
        return "uvloop"
    if asked == "uvloop":
        raise ConfigError(
            f"{EVENT_LOOP_VARIABLE}=uvloop: uvloop is not installed (pip install "
            "'summarizer[fast]'; it needs Python 3.11 or later)"
        )
    return "asyncio"


def loop_factory(env: Mapping[str, str] | None = None) -> LoopFactory | None:
    """uvloop's ``new_event_loop`` when :func:`event_loop_name` says so; None (asyncio's
    default loop) otherwise."""
    if event_loop_name(env) != "uvloop":
        return None
    import uvloop

    factory: LoopFactory = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` chooses."""
    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never started: no "never awaited" warning on top of the error
        raise
    if factory is None:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=factory) as runner:  # type: ignore[attr-defined,unused-ignore]
        return cast(T, runner.run(main))
