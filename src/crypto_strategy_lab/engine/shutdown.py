"""Graceful shutdown: SIGINT/SIGTERM finish the current bar, close the run, exit.

The handler only sets a flag (:meth:`TradingEngine.request_stop`); the loop checks it between
bars, so a bar's journal records are never cut in half by a signal. A second signal while
stopping falls back to the default handler (immediate exit — the journal is crash-safe; the
next start resumes from it).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable


def install_stop_handlers(request_stop: Callable[[], None]) -> None:
    """Route SIGINT and SIGTERM of the running event loop to ``request_stop``.

    Each handler removes itself after its first signal, so a second SIGINT/SIGTERM gets the
    default behaviour (immediate exit). Unix only: asyncio's ``add_signal_handler`` is not
    available on Windows event loops.

    Parameters
    ----------
    request_stop : Callable[[], None]
        Called on the first signal, from the event loop; it should only set a flag.

    Raises
    ------
    RuntimeError
        If called outside a running event loop.
    """
    loop = asyncio.get_running_loop()

    def handler(sig: signal.Signals) -> None:
        request_stop()
        loop.remove_signal_handler(sig)  # a second signal: default behaviour (exit now)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler, sig)
