"""The run's book: what the sleeves' venue accounts hold, marked to the last close.

Positions and balances are read from the venues, never kept here (the venue is the truth for
what it holds; the journal for what was sent and filled). From them the book gives the risk
engine its :class:`~crypto_strategy_lab.risk.PortfolioState` and journals the equity and
exposure snapshots and each changed position. A failed venue query halts new risk (fail
closed) and counts as "unknown", never as "nothing there".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from crypto_strategy_lab.core.epoch import utc_day, utc_from_epoch_us
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.core.orders import AccountMarks, AccountValue, Position, PositionMark
from crypto_strategy_lab.engine.halts import Halts
from crypto_strategy_lab.engine.resume import RunProgress
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.equity import epoch_us
from crypto_strategy_lab.risk import PortfolioState, PositionExposure
from crypto_strategy_lab.risk.state import asset_class_of

D0 = Decimal(0)
_TINY = Decimal("1e-9")  # the risk engine divides by equity: never hand it zero


class LastCloses(Mapping[str, Decimal]):
    """The last close per symbol, as the exact decimal of its float, converted when read.

    Every bar sets a close; few read one (the venue's own mark price comes first), so the
    conversion (~0.8 µs) is done on the first read of each close, not on every bar.
    """

    def __init__(self) -> None:
        self._floats: dict[str, float] = {}
        self._decimals: dict[str, Decimal] = {}

    def set(self, symbol: str, close: float) -> None:
        """Make ``close`` the last close of ``symbol``.

        Parameters
        ----------
        symbol : str
            The instrument.
        close : float
            The bar's close (quote currency).
        """
        self._floats[symbol] = float(close)
        self._decimals.pop(symbol, None)

    def __getitem__(self, symbol: str) -> Decimal:
        """``Decimal(repr(close))``: the shortest decimal that round-trips the float."""
        value = self._decimals.get(symbol)
        if value is None:
            value = self._decimals[symbol] = Decimal(repr(self._floats[symbol]))
        return value

    def __iter__(self) -> Iterator[str]:
        """The symbols with a close."""
        return iter(self._floats)

    def __len__(self) -> int:
        """How many symbols have a close."""
        return len(self._floats)


class Book:
    """Venue positions and balances of a run's sleeves, with the run's equity marks.

    Parameters
    ----------
    journal, run_id:
        Where the snapshots go.
    sleeves:
        The run's sleeves (one venue account each).
    capital:
        The run's capital: initial equity, peak and day-start equity.
    halts:
        Told of every failed venue query.
    """

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        sleeves: Sequence[Sleeve],
        capital: Decimal,
        halts: Halts,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.sleeves = sleeves
        self.capital = capital
        self.halts = halts
        self.prices = LastCloses()  # last close per symbol
        self.equity = capital
        self.peak = capital
        self.day: int | None = None  # the UTC day number (core.epoch.utc_day) of day_start
        self.day_start = capital
        self.gross = D0
        self.net = D0
        self._last_positions: dict[str, Decimal] = {}  # per sleeve, as last journaled

    def resume(self, progress: RunProgress) -> None:
        """Continue from the journal's peak equity and last journaled positions.

        Parameters
        ----------
        progress : RunProgress
            What the journal holds of the run being resumed; a ``peak_equity`` of None
            keeps the current peak, and the positions (per sleeve name) replace the last
            journaled ones, so an unchanged position is not journaled again.
        """
        if progress.peak_equity is not None:
            self.peak = max(self.peak, progress.peak_equity)
        self._last_positions = dict(progress.positions)

    def mark(self, symbol: str, close: float) -> None:
        """The bar's close is the mark of ``symbol`` (exact decimal of the float).

        Parameters
        ----------
        symbol : str
            The instrument.
        close : float
            The bar's close (quote currency); read back as ``Decimal(repr(float(close)))``,
            the shortest decimal that round-trips the float (``0.1`` -> ``Decimal('0.1')``).
        """
        self.prices.set(symbol, close)

    # -- venue queries ---------------------------------------------------------------------------

    async def position(self, sleeve: Sleeve) -> Decimal | None:
        """The sleeve's signed net position at the venue (``None``: the query failed).

        Parameters
        ----------
        sleeve : Sleeve
            The strategy sleeve (its exchange, symbol and market).

        Returns
        -------
        Decimal or None
            :attr:`AccountValue.quantity` of :meth:`account_value` (base units; 0 when
            flat), or None.
        """
        account = await self.account_value(sleeve)
        return None if account is None else account.quantity

    async def account_value(self, sleeve: Sleeve) -> AccountValue | None:
        """The sleeve's account marked to market (``None``: the query failed).

        Parameters
        ----------
        sleeve : Sleeve
            The strategy sleeve (its exchange, symbol and market).

        Returns
        -------
        AccountValue or None
            The account's equity (total of its quote currency) and the sleeve's non-zero
            positions, in one venue read; None when it raised :class:`ExchangeError` (the
            halts are told, see :meth:`Halts.venue_error`).
        """
        try:
            return await sleeve.exchange.get_account_value(sleeve.symbol, market=sleeve.market)
        except ExchangeError as exc:
            self.halts.venue_error(sleeve, exc, "account query")
            return None

    async def holdings(self) -> tuple[Decimal, list[tuple[Sleeve, tuple[PositionMark, ...]]]]:
        """Total equity over the accounts and each sleeve's non-zero positions.

        One venue read per sleeve (:meth:`account_value`; a failed one counts as nothing, and
        halts).

        Returns
        -------
        tuple of (Decimal, list of tuple of (Sleeve, tuple of PositionMark))
            The sum of the accounts' equity (quote currency), and each sleeve with its
            non-zero positions (empty when flat or the read failed).
        """
        return self._held([await self.account_value(sleeve) for sleeve in self.sleeves])

    def _held(
        self, values: Sequence[AccountValue | None]
    ) -> tuple[Decimal, list[tuple[Sleeve, tuple[PositionMark, ...]]]]:
        """:meth:`holdings` of each sleeve's account value (None: a failed read)."""
        equity = D0
        held: list[tuple[Sleeve, tuple[PositionMark, ...]]] = []
        for sleeve, value in zip(self.sleeves, values, strict=True):
            if value is None:
                held.append((sleeve, ()))
            else:
                equity += value.equity
                held.append((sleeve, value.positions))
        return equity, held

    def mark_of(self, sleeve: Sleeve, pos: PositionMark) -> Decimal:
        """The price ``pos`` is marked at: the venue's, else the last close, else its entry.

        Parameters
        ----------
        sleeve : Sleeve
            The strategy sleeve (its symbol).
        pos : PositionMark
            One of its venue positions.

        Returns
        -------
        Decimal
            The venue's ``mark_price``, else the last close seen by :meth:`mark`, else the
            position's average entry price (a zero or missing one falls through to the next).
        """
        return pos.mark_price or self.prices.get(sleeve.symbol) or pos.average_price

    def exposure_of(self, sleeve: Sleeve, pos: PositionMark) -> PositionExposure:
        """``pos`` of ``sleeve`` at its mark (the venue's, else the last close, else entry).

        Parameters
        ----------
        sleeve : Sleeve
            The strategy sleeve (its exchange, symbol and market).
        pos : PositionMark
            One of its venue positions.

        Returns
        -------
        PositionExposure
            Signed quantity at the price of :meth:`mark_of`.
        """
        return PositionExposure(
            strategy=sleeve.name,
            venue=sleeve.venue,
            symbol=sleeve.symbol,
            asset_class=asset_class_of(sleeve.market),
            quantity=pos.quantity,
            price=self.mark_of(sleeve, pos),
        )

    async def exposures(self) -> tuple[Decimal, list[PositionExposure]]:
        """Total equity over the accounts and every position's exposure at its mark.

        Returns
        -------
        tuple of (Decimal, list of PositionExposure)
            The equity of :meth:`holdings` and one :meth:`exposure_of` per position.
        """
        equity, held = await self.holdings()
        return equity, [
            self.exposure_of(sleeve, pos) for sleeve, positions in held for pos in positions
        ]

    async def portfolio_state(self) -> PortfolioState:
        """The risk engine's view of the book now.

        Updates :attr:`equity` and :attr:`peak` from the venue.

        Returns
        -------
        PortfolioState
            Equity, peak equity and the day's opening equity, each floored at ``1e-9``
            (the risk engine divides by them), and every position's exposure.
        """
        equity, positions = await self.exposures()
        self.equity = equity
        self.peak = max(self.peak, equity)
        return PortfolioState(
            equity=max(equity, _TINY),
            peak_equity=max(self.peak, _TINY),
            day_start_equity=max(self.day_start, _TINY),
            positions=tuple(positions),
        )

    # -- snapshots -------------------------------------------------------------------------------

    async def snapshot(self, now: datetime) -> None:
        """Journal equity and exposure (and each changed position) at ``now``.

        Parameters
        ----------
        now : datetime
            The snapshot time (aware UTC; its UTC date starts a new day's opening equity).

        Notes
        -----
        A position is journaled when its quantity differs from the one last journaled for
        the sleeve (a flat sleeve that held a position journals a zero). The equity point
        has ``gross = sum |q| p``, ``net = sum q p``, ``unrealized`` the venue's unrealised
        P&L, ``cash = equity - unrealized`` and ``realized = cash - capital``.

        When a sleeve's account cannot be read (:meth:`account_value` halts new risk), nothing
        is journaled at ``now`` and the book's equity, peak and day stay as they were: a
        point without that account would record it as worth nothing and flat.
        """
        values = [await self.account_value(sleeve) for sleeve in self.sleeves]
        accounts = [
            (sleeve, AccountMarks.of(value))
            for sleeve, value in zip(self.sleeves, values, strict=True)
            if value is not None
        ]
        if len(accounts) == len(values):
            self._journal_points((epoch_us(now),), accounts)

    def snapshot_quiet(self, stamps: Sequence[int], closes: Sequence[float]) -> None:
        """:meth:`snapshot` at the closes of quiet bars, without a venue read per bar.

        Every sleeve trades the bars' symbol on a simulated venue whose account the bars do
        not change (``SimulatedExchange.quiet_bars``): its answer after each bar is the
        account marked at that bar's close (``account_values_at``).

        Parameters
        ----------
        stamps : sequence of int
            The snapshots' times, microseconds since the epoch (UTC), increasing.
        closes : sequence of float
            The close of the bar of each time (quote currency).
        """
        accounts = [
            (sleeve, sleeve.exchange.account_values_at(sleeve.symbol, closes))  # type: ignore[attr-defined]
            for sleeve in self.sleeves
        ]
        self._journal_points(stamps, accounts)

    def _journal_points(
        self, stamps: Sequence[int], accounts: list[tuple[Sleeve, AccountMarks]]
    ) -> None:
        """Journal the snapshots at ``stamps`` (µs) of each sleeve's marked account.

        The rule of :meth:`snapshot`, a column at a time: per point, the sums over the
        sleeves (and their positions, in order) of equity, ``|q| p``, ``q p`` and the
        unrealised P&L (0 when there is none); positions at the first point only (they do
        not change between the points). Updates the day's opening equity, the peak, the
        exposures.
        """
        n = len(stamps)
        equity = gross = net = unrealized = None  # the sums so far, None before any term
        longs = True  # every position long: net is gross (q p = |q| p)
        for sleeve, account in accounts:
            equity = _plus(equity, account.equity)
            for pos, marks, pnl in zip(
                account.positions, account.marks, account.unrealized, strict=True
            ):
                q = pos.quantity
                size = abs(q)
                longs = longs and q > 0
                # mark_of: the venue's mark, else the last close, else the entry
                fallback = self.prices.get(sleeve.symbol) or pos.average_price
                prices = [m or fallback for m in marks]
                gross = _plus(gross, [size * p for p in prices])
                net = gross if longs else _plus(net, [q * p for p in prices])
                unrealized = _plus(unrealized, [x or D0 for x in pnl])
                if self._last_positions.get(sleeve.name) != q:
                    self.journal.record_position(
                        self.run_id,
                        pos.position(),
                        ts=utc_from_epoch_us(stamps[0]),
                        strategy=sleeve.name,
                    )
                    self._last_positions[sleeve.name] = q
            if not account.positions and self._last_positions.get(sleeve.name, D0) != 0:
                flat = Position(
                    symbol=sleeve.symbol,
                    quantity=D0,
                    average_price=D0,
                    market=sleeve.market,
                    venue=sleeve.venue,
                )
                self.journal.record_position(
                    self.run_id, flat, ts=utc_from_epoch_us(stamps[0]), strategy=sleeve.name
                )
                self._last_positions[sleeve.name] = D0
        if equity is None or gross is None or net is None or unrealized is None:
            zeros = [D0] * n  # no sleeve read, or no position: those sums are 0
            equity, gross = equity or zeros, gross or zeros
            net, unrealized = net or zeros, unrealized or zeros
        if utc_day(stamps[-1]) != self.day:  # a new UTC day opens at its first point's equity
            for stamp, value in zip(stamps, equity, strict=True):
                day = utc_day(stamp)
                if day != self.day:
                    self.day, self.day_start = day, value
        self.equity = equity[-1]
        self.peak = max(self.peak, *equity)
        self.gross, self.net = gross[-1], net[-1]
        cash = [e - u for e, u in zip(equity, unrealized, strict=True)]
        realized = [c - self.capital for c in cash]
        # in EQUITY_COLUMNS order
        self.journal.record_equity_points(
            self.run_id, stamps, (equity, cash, gross, net, realized, unrealized)
        )


def _plus(total: Sequence[Decimal] | None, column: Sequence[Decimal]) -> Sequence[Decimal]:
    """``total + column`` element by element; ``column`` itself when there is no total yet.

    A sum of one term is that term: the first sleeve's (or position's) column is not added
    to zeros, which cost ~0.17 µs per amount and could only round an amount of more than
    the context's 28 digits.
    """
    if total is None:
        return column
    return [t + x for t, x in zip(total, column, strict=True)]
