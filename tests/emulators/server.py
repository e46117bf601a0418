"""Serving an emulator: an aiohttp application on 127.0.0.1 at an ephemeral port."""

from __future__ import annotations

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
