"""Entry point of the monitoring dashboard.

Options (after ``--`` on the ``streamlit run`` command line, or from the environment):

``--journal URL``   journal to read (else ``CSL_JOURNAL_URL``, else the default SQLite file);
``--refresh SECONDS`` auto-refresh interval, 0 to switch off (else
``CSL_DASHBOARD_REFRESH``, else 15);
``--reports DIR``   where the lab writes its reports (else ``CSL_REPORTS_DIR``, else
``./reports``).

Every page runs inside ``st.fragment(run_every=interval)``, so only the page body re-queries
the journal on each tick; the sidebar (run picker, interval) stays put.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from crypto_strategy_lab.config.input_errors import describe_error
from crypto_strategy_lab.monitoring.reader import (
    START_HINT,
    JournalReader,
    JournalState,
    JournalStatus,
    check_journal,
    display_url,
    open_readonly,
)
from crypto_strategy_lab.security.redaction import mask_credentials

PAGES_DIR = Path(__file__).with_name("pages")
PAGES = (
    ("overview.py", "Overview", "overview", ":material/monitoring:"),
    ("positions.py", "Positions & orders", "positions", ":material/list_alt:"),
    ("strategies.py", "Strategies", "strategies", ":material/insights:"),
    ("risk.py", "Risk", "risk", ":material/shield:"),
    ("research.py", "Research", "research", ":material/science:"),
    ("alerts.py", "Alerts", "alerts", ":material/notifications:"),
)
DEFAULT_REFRESH_SECONDS = 15
logger = logging.getLogger(__name__)
_CTX_KEY = "csl_dashboard_context"


@dataclass
class DashboardContext:
    """What every page needs: the journal, its state, the selected run, the settings."""

    url: str
    status: JournalStatus
    reader: JournalReader | None
    runs: pd.DataFrame
    run: pd.Series | None
    refresh_seconds: int
    reports_dir: Path


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The dashboard's options from ``argv`` (unknown ones ignored), environment defaults filled.

    ``--journal`` falls back to ``CSL_JOURNAL_URL``, then the default journal URL;
    ``--refresh`` to ``CSL_DASHBOARD_REFRESH``; ``--reports`` to ``CSL_REPORTS_DIR``, then
    ``reports``.

    Parameters
    ----------
    argv : Sequence of str
        The arguments after the script name (Streamlit passes them after ``--``).

    Returns
    -------
    argparse.Namespace
        ``journal`` (str URL), ``refresh`` (int seconds; 0 turns auto-refresh off) and
        ``reports`` (:class:`pathlib.Path`, relative paths to the working directory).
    """
    parser = argparse.ArgumentParser(prog="monitoring_dashboard", add_help=False)
    parser.add_argument("--journal", default=None)
    parser.add_argument("--refresh", type=int, default=None)
    parser.add_argument("--reports", default=None)
    args, _ = parser.parse_known_args(list(argv))
    if args.journal is None:
        args.journal = os.environ.get("CSL_JOURNAL_URL") or _default_url()
    if args.refresh is None:
        args.refresh = int(os.environ.get("CSL_DASHBOARD_REFRESH", DEFAULT_REFRESH_SECONDS))
    args.reports = Path(args.reports or os.environ.get("CSL_REPORTS_DIR") or "reports")
    return args


def _default_url() -> str:
    from crypto_strategy_lab.journal.db import default_journal_url

    return default_journal_url()


@st.cache_resource(show_spinner=False)
def _engine(url: str):  # type: ignore[no-untyped-def]
    return open_readonly(url)


def run_labels(runs: pd.DataFrame) -> list[str]:
    """One distinct label per run for the picker.

    Name, mode, start, status and the run id's first 8 characters (the prefix ``csl drift``
    accepts); the prefix doubles (up to 64) while labels collide.

    Parameters
    ----------
    runs : pandas.DataFrame
        The journal's runs (``run_id``, ``name``, ``mode``, ``started_at``, ``status``).

    Returns
    -------
    list of str
        One label per row, in the rows' order (``"name · mode · YYYY-MM-DD HH:MM · status ·
        <id prefix>"``); distinct unless two run ids share their first 64 characters.
    """
    labels = []
    for _, row in runs.iterrows():
        started = pd.Timestamp(row["started_at"])
        when = started.strftime("%Y-%m-%d %H:%M") if pd.notna(started) else "start unknown"
        labels.append((f"{row['name']} · {row['mode']} · {when} · {row['status']}", row))
    width = 8
    while True:
        out = [f"{text} · {str(row['run_id'])[:width]}" for text, row in labels]
        if len(set(out)) == len(out) or width >= 64:
            return out
        width *= 2


def build_context(args: argparse.Namespace) -> DashboardContext:
    """What every page reads: the journal's status, its reader and runs, the chosen run.

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`parse_args`.

    Returns
    -------
    DashboardContext
        With ``run`` unset (the sidebar picks it); when the journal or its runs table cannot
        be read, ``reader`` is None and ``status`` says why, instead of raising.
    """
    url = args.journal
    engine = None if url is None else _engine(url)
    status = check_journal(url, engine)
    reader = JournalReader(engine) if status.readable else None
    runs = pd.DataFrame()
    if reader is not None:
        try:
            runs = reader.runs()
        except Exception as exc:  # a damaged runs table: every page says so
            status = JournalStatus(
                JournalState.CORRUPT,
                f"The runs of {display_url(url)} cannot be read: {page_error_text(exc)}",
            )
            reader = None
    return DashboardContext(
        url=url,
        status=status,
        reader=reader,
        runs=runs,
        run=None,
        refresh_seconds=max(0, int(args.refresh)),
        reports_dir=Path(args.reports),
    )


def _sidebar(ctx: DashboardContext) -> None:
    with st.sidebar:
        st.caption(f"Journal: `{display_url(ctx.url)}` (read-only)")
        if len(ctx.runs):
            labels = run_labels(ctx.runs)
            choice = st.selectbox(
                "Run", range(len(labels)), index=len(labels) - 1, format_func=labels.__getitem__
            )
            ctx.run = ctx.runs.iloc[int(choice)]
            if ctx.run.get("config_error"):
                st.warning(f"This run's stored config is unreadable: {ctx.run['config_error']}")
        ctx.refresh_seconds = int(
            st.number_input(
                "Auto-refresh every (s, 0 = off)",
                min_value=0,
                max_value=3600,
                value=ctx.refresh_seconds,
                step=5,
            )
        )
        st.button("Refresh now")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def served_on_loopback() -> bool:
    """Whether this Streamlit server listens on the loopback interface only.

    ``.streamlit/config.toml`` (repository root) and ``csl dashboard`` both bind 127.0.0.1; a
    server started another way with no address listens on every interface.

    Returns
    -------
    bool
        True when ``server.address`` is ``127.0.0.1``, ``localhost`` or ``::1``.
    """
    return str(st.get_option("server.address") or "") in LOOPBACK


def main(argv: Sequence[str] | None = None) -> None:
    """Build the context and sidebar, then run the selected page.

    Stops with an error (shows no data) unless the server listens on loopback only
    (:func:`served_on_loopback`).

    Parameters
    ----------
    argv : Sequence of str or None, default None
        The dashboard's options (:func:`parse_args`); None reads ``sys.argv[1:]``.
    """
    import sys

    st.set_page_config(
        page_title="Crypto Strategy Lab", page_icon=":material/monitoring:", layout="wide"
    )
    if not served_on_loopback():
        # positions, orders and P&L are not for the network: refuse to show them
        st.error(
            "**This dashboard must listen on 127.0.0.1 only.** Start it with `csl dashboard`, "
            "or run `python -m streamlit run scripts/monitoring_dashboard.py` from the "
            "repository root (its `.streamlit/config.toml` binds 127.0.0.1), or pass "
            "`--server.address 127.0.0.1`."
        )
        st.stop()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ctx = build_context(args)
    pages = [
        st.Page(PAGES_DIR / f, title=t, url_path=u, icon=i, default=(u == "overview"))
        for f, t, u, i in PAGES
    ]
    navigation = st.navigation(pages)
    _sidebar(ctx)
    st.session_state[_CTX_KEY] = ctx
    navigation.run()


def page_error_text(exc: BaseException) -> str:
    """One line naming what could not be read, credentials masked.

    The CLI's wording for known input errors
    (:func:`crypto_strategy_lab.config.input_errors.describe_error`), else the exception's
    type and first line.

    Parameters
    ----------
    exc : BaseException
        The error a page or the runs query raised.

    Returns
    -------
    str
        One line, with any credentials in URLs masked.
    """
    line = describe_error(exc)
    if line is None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        line = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return mask_credentials(line)


def empty_state(ctx: DashboardContext) -> None:
    """Show what to do when the journal has no runs yet.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context (its journal URL is named).
    """
    st.info(
        "**Nothing to show yet: the journal has no runs.**\n\n"
        f"{START_HINT}\n\nThe dashboard reads `{display_url(ctx.url)}`; pass another journal "
        "with `csl dashboard --journal URL`."
    )


def run_page(
    view: Callable[[DashboardContext], None], title: str, *, needs_run: bool = True
) -> None:
    """Render ``view`` for the current context, refreshed every ``refresh_seconds``.

    A journal that cannot be read is an error box naming the problem; an empty journal is an
    empty state, unless the page does not need a run (``needs_run=False``: Research).

    Parameters
    ----------
    view : callable
        The page's ``render(ctx)``; an exception it raises becomes an error box.
    title : str
        The page title.
    needs_run : bool, default True
        Whether the page needs a readable journal with a selected run; False renders it
        anyway, below the error box when the journal cannot be read.
    """
    ctx: DashboardContext = st.session_state[_CTX_KEY]
    st.title(title)
    if not ctx.status.readable:
        st.error(f"**Journal unavailable ({ctx.status.state.value}).** {ctx.status.message}")
        if needs_run:
            return
    elif needs_run and (ctx.status.state is JournalState.EMPTY or ctx.run is None):
        empty_state(ctx)
        return

    @st.fragment(run_every=ctx.refresh_seconds or None)
    def body() -> None:
        try:
            view(ctx)
        except Exception as exc:  # damaged rows or tables: a message, never a crashed page
            logger.exception("dashboard page %r failed", title)
            st.error(
                f"**This page cannot be drawn from the journal.** {page_error_text(exc)}\n\n"
                f"Journal: `{display_url(ctx.url)}`. `csl audit verify` checks it row by row."
            )
        st.caption(
            f"Updated {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M:%S} UTC"
            + (f" · every {ctx.refresh_seconds} s" if ctx.refresh_seconds else "")
        )

    body()
