"""The strategy base class: one computation, two faces.

* research: :meth:`Strategy.compute` returns, for every bar, the strategy's statistic(s) and a
  ``signal`` column in [-1, 1] (finite everywhere; 0 while the window fills). Row t uses only
  rows <= t (tests prove it by truncation).
* trading: :meth:`Strategy.generate_signal` is the last row of the same ``compute`` turned into
  a :class:`~crypto_strategy_lab.core.signal.Signal`.

Subclasses set ``name``, ``params_model``, ``recommended_timeframes`` and ``asset_classes``
and implement ``_compute``; statistics come from :mod:`crypto_strategy_lab.stats`, the
subclass adds only the trading rule.

Parameters in time
------------------
Windows, horizons, warm-ups and refit schedules are declared as :data:`Span` fields: a length
of time (``"7d"``, ``"36h"``, ``"90min"``) that :meth:`StrategyParams.bars` converts to a bar
count for the parameters' ``timeframe``: ``n = max(n_min, ceil(span / bar))``, where
``n_min`` is the field's minimum number of observations (the fewest the statistic needs to
mean anything, e.g. 500 returns for a GARCH fit). So one parameter set is the same rule at 1h
and at 1d, and a window too short in bars at a coarse timeframe is lengthened to the minimum
instead of producing a meaningless estimate. An integer given for a span field is an exact
count of bars of ``timeframe`` (kept for callers that think in bars); it must itself be at
least ``n_min``, and is stored as the equivalent time.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from crypto_strategy_lab.core.enums import MarketType, SignalAction
from crypto_strategy_lab.core.signal import Signal, size_from_capital

if TYPE_CHECKING:  # pandas and the data layer load where bars are handled, not when a
    import pandas as pd  # strategy class is read (registry.py)

#: Asset classes a strategy declares (the risk layer's names): the brief's "Crypto" and "All".
CRYPTO: Final[tuple[str, ...]] = ("crypto",)
ALL_ASSETS: Final[tuple[str, ...]] = ("crypto", "equity")

_UNITS: Final = (("d", timedelta(days=1)), ("h", timedelta(hours=1)), ("min", timedelta(minutes=1)))


_SPAN_TEXT: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s)\s*$", re.IGNORECASE)
_SPAN_UNIT: Final = {"w": "weeks", "d": "days", "h": "hours", "min": "minutes", "m": "minutes"}


def _parse_span(value: Any) -> Any:
    """``"7d"``, ``"36h"``, ``"90min"``, ``"2w"`` (a number and one unit) to a timedelta."""
    if isinstance(value, str):
        match = _SPAN_TEXT.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a length of time (e.g. '7d', '36h', '90min')")
        unit = _SPAN_UNIT.get(match[2].lower(), "seconds")
        return timedelta(**{unit: float(match[1])})
    pd = sys.modules.get("pandas")  # a pandas.Timedelta exists only once pandas is loaded
    if pd is not None and isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"a span must be a positive length of time, got {value}")
    return value


def format_span(value: timedelta) -> str:
    """The canonical text of a span: the largest whole unit of d / h / min (else seconds).

    Parameters
    ----------
    value : datetime.timedelta
        The span.

    Returns
    -------
    str
        ``"<n>d"``, ``"<n>h"`` or ``"<n>min"`` with ``n`` a whole number, in the first of
        those units that divides ``value`` exactly (``36h``, not ``1.5d``); else the seconds
        as ``"<s>s"`` (``%g``). :data:`Span` parses every output back to ``value``.
    """
    for unit, size in _UNITS:
        if value % size == timedelta(0):
            return f"{value // size}{unit}"
    return f"{value.total_seconds():g}s"


#: A length of time (parsed from ``"7d"``, ``"36h"``, ``"90min"``; dumped canonically).
Span = Annotated[
    timedelta,
    BeforeValidator(_parse_span),
    AfterValidator(_positive),
    PlainSerializer(format_span, return_type=str),
]


def span(default: str, *, min_obs: int, max_obs: int | None = None, description: str) -> Any:
    """A :data:`Span` field whose bar count is at least ``min_obs`` (and at most ``max_obs``).

    ``description`` says what the span measures; the minimum is appended to it.

    Parameters
    ----------
    default : str
        The default span as text (``"7d"``); validated like a given value.
    min_obs : int
        The fewest bars the span may convert to (:meth:`StrategyParams.bars` lengthens a
        shorter span to it; a bar count given below it is refused).
    max_obs : int or None, default None
        The most bars it may convert to (validation fails beyond); None: no maximum.
    description : str
        What the span measures, for the schema and ``csl strategies`` output.

    Returns
    -------
    pydantic.fields.FieldInfo
        The field, with ``min_obs`` and ``max_obs`` in its JSON schema extra
        (:meth:`StrategyParams.span_fields` reads them there).
    """
    limit = f", at most {max_obs}" if max_obs is not None else ""
    return Field(
        default=default,
        validate_default=True,
        description=f"{description} (at least {min_obs} bars{limit})",
        json_schema_extra={"min_obs": min_obs, "max_obs": max_obs},
    )


def bars_for(span_: timedelta, timeframe: str, min_obs: int = 1) -> int:
    """``max(min_obs, ceil(span / bar))``: bars of ``timeframe`` covering ``span_``.

    Parameters
    ----------
    span_ : datetime.timedelta
        The length of time to cover.
    timeframe : str
        The bar size (``"1h"``, ``"15m"``, ``"1d"``).
    min_obs : int, default 1
        The fewest bars returned.

    Returns
    -------
    int
        The bar count; a span that is not a whole number of bars rounds up.

    Raises
    ------
    DataValidationError
        If ``timeframe`` is not a known bar size.
    """
    from crypto_strategy_lab.data.timeframes import timeframe_delta

    bar = timeframe_delta(timeframe).to_pytimedelta()
    return max(min_obs, -(-span_ // bar))


def finite_signal(signal: np.ndarray) -> np.ndarray:
    """The ``signal`` contract applied to ``signal``: finite and within [-1, 1].

    NaN (a window still filling) is 0, ``+-inf`` is ``+-1``, and every value is clipped to
    [-1, 1].

    Parameters
    ----------
    signal : numpy.ndarray
        Raw target weights (any float-convertible array).

    Returns
    -------
    numpy.ndarray
        A new float64 array of the same shape (``signal`` itself is left unchanged).
    """
    cleaned = np.nan_to_num(np.asarray(signal, dtype=float), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(cleaned, -1.0, 1.0, out=cleaned)


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model (validated, immutable).

    ``timeframe`` is the bar size the parameters are converted for (:meth:`bars`); the lab
    sets it to the bar size it evaluates, a deployment to the bars it trades.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeframe: str = Field(default="1h", description="Bar size the spans are converted for.")
    band: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="No-trade band on the target: smaller adjustments are skipped "
        "(strategies/trading_rules.py).",
    )
    min_hold: Span | None = Field(
        default=None,
        description="Minimum holding period between changes of the held target (None: off).",
        json_schema_extra={"min_obs": 1, "max_obs": None},
    )

    @classmethod
    def span_fields(cls) -> dict[str, tuple[int, int | None]]:
        """``{name: (min_obs, max_obs)}`` of the :data:`Span` fields.

        Returns
        -------
        dict of str to tuple of (int, int or None)
            Each span field's declared minimum and maximum bar count (None: no maximum), in
            field order; ``min_hold`` included.
        """
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and "min_obs" in extra:
                out[name] = (int(extra["min_obs"]), extra["max_obs"])  # type: ignore[arg-type]
        return out

    @model_validator(mode="before")
    @classmethod
    def _bar_counts_to_time(cls, data: Any) -> Any:
        """An integer for a span field is that many bars of ``timeframe`` (at least min_obs)."""
        if not isinstance(data, dict):
            return data
        spans = cls.span_fields()
        counts = {
            k: v
            for k, v in data.items()
            if k in spans and isinstance(v, int | float | np.integer) and not isinstance(v, bool)
        }
        if not counts:
            return data
        from crypto_strategy_lab.data.schema import DataValidationError
        from crypto_strategy_lab.data.timeframes import timeframe_delta

        timeframe = data.get("timeframe", cls.model_fields["timeframe"].default)
        try:
            bar = timeframe_delta(timeframe).to_pytimedelta()
        except DataValidationError as exc:
            raise ValueError(str(exc)) from None
        out = dict(data)
        for name, value in counts.items():
            if value == 0 and cls.model_fields[name].default is None:
                out[name] = None  # an optional span given as 0 bars is off
                continue
            min_obs = spans[name][0]  # the declared minimum (subclasses check theirs after)
            if value != int(value) or value < min_obs:
                raise ValueError(
                    f"{name}={value} bars: a bar count must be a whole number of at least "
                    f"{min_obs} (or give a time such as '7d')"
                )
            out[name] = int(value) * bar
        return out

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        from crypto_strategy_lab.data.schema import DataValidationError
        from crypto_strategy_lab.data.timeframes import parse_timeframe

        try:
            return parse_timeframe(value)
        except DataValidationError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _within_max_obs(self) -> StrategyParams:
        for name, (_, max_obs) in self.span_fields().items():
            if max_obs is not None and (n := self.bars(name)) > max_obs:
                raise ValueError(
                    f"{name}={format_span(getattr(self, name))} is {n} bars of "
                    f"{self.timeframe}; at most {max_obs}"
                )
        return self

    def min_obs(self, name: str) -> int:
        """Fewest bars the span field ``name`` may cover.

        It is the field's declared minimum; a subclass overrides this to return a larger
        value when the minimum depends on other parameters.

        Parameters
        ----------
        name : str
            A span field (a key of :meth:`span_fields`).

        Returns
        -------
        int
            The minimum bar count, the floor :meth:`bars` applies.

        Raises
        ------
        KeyError
            If ``name`` is not a span field.
        """
        return self.span_fields()[name][0]

    def bars(self, name: str) -> int:
        """The span field ``name`` in bars of :attr:`timeframe` (module docstring).

        Parameters
        ----------
        name : str
            A span field.

        Returns
        -------
        int
            ``max(min_obs(name), ceil(span / bar))``; 0 for an optional span that is off
            (None).
        """
        value = getattr(self, name)
        if value is None:  # an optional span that is off
            return 0
        return bars_for(value, self.timeframe, self.min_obs(name))

    def in_bars(self) -> dict[str, Any]:
        """The parameters as the computation sees them: every span as its bar count.

        Two parameter sets with equal ``in_bars()`` compute the same signal (e.g. 1000h and
        1500h windows that both fall back to the 250-observation minimum on daily bars).

        Returns
        -------
        dict of str to Any
            ``model_dump(mode="json")`` with each span field replaced by its :meth:`bars`.
        """
        out = self.model_dump(mode="json")
        return out | {name: self.bars(name) for name in self.span_fields()}


class SignalConfig(BaseModel):
    """What the trading face needs beyond the bars: where to trade and how much capital."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = "BTCUSDT"
    market: MarketType | None = None
    capital: float | None = Field(default=None, gt=0)
    max_position_size: float = Field(default=0.1, gt=0, le=1)


class Strategy(ABC):
    """A statistical test of one departure from a random walk, turned into a trading rule.

    Parameters
    ----------
    params : StrategyParams or mapping, optional
        The parameters, validated by the class's ``params_model``; ``None`` takes its
        defaults.
    **overrides
        Parameters that replace those of ``params``.

    Attributes
    ----------
    params : StrategyParams
        The validated parameters (an instance of ``params_model``).
    """

    name: ClassVar[str]
    params_model: ClassVar[type[StrategyParams]] = StrategyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h",)
    asset_classes: ClassVar[tuple[str, ...]] = CRYPTO
    uses_volume: ClassVar[bool] = False

    def __init__(self, params: StrategyParams | Mapping[str, Any] | None = None, **overrides: Any):
        if isinstance(params, StrategyParams):
            merged = {**params.model_dump(), **overrides}
        else:
            merged = {**dict(params or {}), **overrides}
        self.params = self.params_model.model_validate(merged)

    def __repr__(self) -> str:
        """``ClassName(params)``."""
        return f"{type(self).__name__}({self.params!r})"

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Number of bars before the first non-NaN statistic."""

    @abstractmethod
    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Statistics and a raw ``signal`` column for validated ``bars`` (same index)."""

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Statistic(s) and the ``signal`` column in [-1, 1] for every bar, strictly causal.

        With a no-trade ``band`` or a ``min_hold`` period set, ``signal`` is the held target
        of :func:`~crypto_strategy_lab.strategies.trading_rules.held_target` and the rule's
        own target is kept as ``target``.

        Parameters
        ----------
        bars : pandas.DataFrame
            OHLCV bars (the schema of :func:`~crypto_strategy_lab.data.schema.validate_ohlcv`).

        Returns
        -------
        pandas.DataFrame
            On ``bars.index``: the strategy's statistic column(s), ``signal`` (finite, in
            [-1, 1]) and, with a ``band`` or a ``min_hold`` of more than one bar, ``target``.

        Raises
        ------
        DataValidationError
            If ``bars`` breaks the OHLCV schema or is shorter than :attr:`warmup` + 1 bars.
        """
        from crypto_strategy_lab.data.schema import DataValidationError, validate_ohlcv

        validate_ohlcv(bars)
        if len(bars) <= self.warmup:
            raise DataValidationError(
                f"{self.name} needs more than {self.warmup} bars (its warm-up), got {len(bars)}"
            )
        out = self._compute(bars)
        if "signal" not in out.columns or not out.index.equals(bars.index):
            raise AssertionError(f"{self.name}._compute must return 'signal' on the bars' index")
        raw = out["signal"].to_numpy(dtype=float)
        signal = finite_signal(raw)
        p = self.params
        min_hold = p.bars("min_hold")
        if p.band > 0 or min_hold > 1:
            # numba loads on first use, not when a class is read (registry.py)
            from crypto_strategy_lab.strategies.trading_rules import held_target

            out["target"] = signal  # what the rule wants; ``signal`` is what is held
            signal = held_target(signal, p.band, min_hold)
        if not np.array_equal(raw, signal):  # replacing a column copies its frame's block
            out["signal"] = signal
        return out

    async def generate_signal(
        self, data: pd.DataFrame, config: SignalConfig | Mapping[str, Any] | None = None
    ) -> Signal:
        """The trading decision for the last bar of ``data`` (the last row of :meth:`compute`).

        Parameters
        ----------
        data : pandas.DataFrame
            OHLCV bars, as for :meth:`compute`; the decision is for the last one.
        config : SignalConfig or mapping, optional
            Symbol, market, capital and position cap (a mapping is validated as a
            :class:`SignalConfig`, unknown keys ignored); ``None`` takes the defaults.

        Returns
        -------
        Signal
            ``BUY`` / ``SELL`` / ``HOLD`` by the sign of the last ``signal``, that value as
            the strength, the last close as the price, a quantity only when ``capital`` is
            given (:func:`~crypto_strategy_lab.core.signal.size_from_capital`), and the last
            row's other finite numeric columns as statistics.
        """
        cfg = (
            config
            if isinstance(config, SignalConfig)
            else SignalConfig.model_validate(dict(config or {}))
        )
        frame = self.compute(data)
        last = frame.iloc[-1]
        strength = float(last["signal"])
        action = (
            SignalAction.BUY
            if strength > 0
            else SignalAction.SELL
            if strength < 0
            else SignalAction.HOLD
        )
        price = float(data["close"].iloc[-1])
        quantity = (
            size_from_capital(strength, price, cfg.capital, cfg.max_position_size)
            if cfg.capital is not None
            else None
        )
        statistics = {
            str(k): float(v)
            for k, v in last.items()
            if k != "signal" and isinstance(v, int | float | np.number) and np.isfinite(v)
        }
        return Signal(
            strategy=self.name,
            symbol=cfg.symbol,
            timestamp=frame.index[-1].to_pydatetime(),
            action=action,
            strength=strength,
            price=price,
            quantity=quantity,
            market=cfg.market,
            statistics=statistics,
        )
