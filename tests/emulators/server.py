"""Serving an emulator: an aiohttp application on 127.0.0.1 at an ephemeral port."""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web


async def start_site(
    app: web.Application, *, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, str]:
    """Start ``app`` on 127.0.0.1 with an ephemeral port; return the runner and base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


class LocalServer:
    """Base of the venue emulators: ``async with Emulator() as emu: emu.base_url``.

    Subclasses build their routes in :meth:`make_app`. Open connections get 0.1 s to finish
    on stop, so a test that leaves a request hanging does not wait for aiohttp's 60 s.
    """

    _runner: web.AppRunner | None = None
    base_url: str = ""

    def make_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> str:
        self._runner, self.base_url = await start_site(self.make_app(), shutdown_timeout=0.1)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ServedInThread:
    """Serve an emulator from its own event loop in a background thread, for code under test
    that runs its own loop (a ``csl`` command's ``asyncio.run``):
    ``with ServedInThread(BybitEmulator()) as emu: emu.base_url``. :meth:`call` runs a
    function on the emulator's loop (its state is not thread-safe)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=10)
        return self.server

    def call(self, fn, *args):  # type: ignore[no-untyped-def]
        async def run():  # type: ignore[no-untyped-def]
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
