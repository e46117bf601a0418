"""``ExchangeFactory.create_exchange(name, mode, ...)``: the one way to get a venue client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crypto_strategy_lab.config.settings import Settings
from crypto_strategy_lab.core.enums import TradingMode
from crypto_strategy_lab.core.errors import AuthenticationError, ConfigError
from crypto_strategy_lab.exchanges.base import Exchange
from crypto_strategy_lab.exchanges.credentials import ENV_NAMES, resolve_credentials
from crypto_strategy_lab.security.vault import Credentials

VENUE_MODES: dict[str, tuple[TradingMode, ...]] = {
    "bybit": (TradingMode.TESTNET, TradingMode.LIVE),
    "alpaca": (TradingMode.PAPER, TradingMode.LIVE),
    "simulated": (TradingMode.SIMULATED,),
}


class ExchangeFactory:
    """Builds venue clients by name (``bybit``, ``alpaca``, ``simulated``)."""

    @staticmethod
    def create_exchange(
        name: str,
        mode: TradingMode | str,
        *,
        credentials: Credentials | Mapping[str, Any] | None = None,
        base_url: str | None = None,
        settings: Settings | None = None,
        **options: Any,
    ) -> Exchange:
        """A client for venue ``name`` trading in ``mode``.

        Parameters
        ----------
        name : str
            ``"bybit"`` (testnet, live), ``"alpaca"`` (paper, live) or ``"simulated"``
            (case and surrounding spaces ignored).
        mode : TradingMode or str
            A :class:`TradingMode` (or its value); a mode the venue lacks raises
            :class:`ConfigError`.
        credentials : Credentials or mapping, optional
            Overrides the environment/vault keys (see :mod:`.credentials`); ignored by the
            simulated venue.
        base_url : str, optional
            Another endpoint (e.g. a local emulator); defaults to ``CSL_BYBIT_BASE_URL`` /
            ``CSL_ALPACA_BASE_URL`` when set; ignored by the simulated venue.
        settings : Settings, optional
            Environment settings (default: read them now).
        **options
            Passed to the venue client (``timeout``, ``rate_limit_scale``, ``audit``,
            ``default_market``, ``retry_policy``, ...; the simulated venue takes
            ``cost_model``, ``balances``, ``bars``).

        Returns
        -------
        Exchange
            The venue client (not yet connected); use it with ``async with``.

        Raises
        ------
        ConfigError
            If the venue or mode is unknown, or the venue lacks the mode.
        AuthenticationError
            If a real venue has no API keys for the mode.
        """
        key = name.strip().lower()
        if key not in VENUE_MODES:
            raise ConfigError(f"unknown exchange {name!r}; choose one of {', '.join(VENUE_MODES)}")
        try:
            mode = TradingMode(mode)
        except ValueError:
            choices = ", ".join(m.value for m in TradingMode)
            raise ConfigError(f"unknown trading mode {mode!r}; choose one of {choices}") from None
        if mode not in VENUE_MODES[key]:
            have = ", ".join(m.value for m in VENUE_MODES[key])
            raise ConfigError(f"{key} has no {mode.value} mode; it supports: {have}")
        if key == "simulated":
            from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange

            return SimulatedExchange(mode, **options)
        settings = settings or Settings()
        creds = resolve_credentials(key, mode, credentials, settings)
        if creds is None:
            env_key, env_secret = ENV_NAMES[(key, mode)]
            raise AuthenticationError(
                f"no API keys for {key} {mode.value}: set {env_key} and {env_secret}, add them "
                f"with `csl keys add {key} {mode.value}`, or pass credentials=",
                venue=key,
            )
        if key == "bybit":
            from crypto_strategy_lab.exchanges.bybit.client import BybitExchange

            url = base_url or settings.CSL_BYBIT_BASE_URL
            return BybitExchange(mode, creds, base_url=url, **options)
        from crypto_strategy_lab.exchanges.alpaca.client import AlpacaExchange

        url = base_url or settings.CSL_ALPACA_BASE_URL
        return AlpacaExchange(mode, creds, base_url=url, **options)
