"""Where a study's trials run: this process, local worker processes, or a Ray cluster.

Every executor runs :func:`~crypto_strategy_lab.research.trial.evaluate_trial` on each task
and hands each outcome to ``on_result`` *in the calling process* as soon as it is ready, so
the trial log has a single writer and progress can be shown. The computation is a pure
function of (task, bars), so the executors return identical numbers; only the wall time
differs.

* :class:`LocalExecutor` (default): a :class:`concurrent.futures.ProcessPoolExecutor` with the
  ``spawn`` start method (numba's threading layer is not fork-safe). The pool starts once and
  serves every ``run`` until :meth:`LocalExecutor.close` (a spawned worker pays the package's
  imports and numba's cache loads, ~3 s; the lab runs one group of studies per timeframe, so a
  pool per group cost most of a quick lab's wall time). Each ``run``'s bars are written once
  to a pickle file that every worker reads once (not once per task). Until the pool exists,
  trials run inline while the rest of the work, timed on the trials done, would save less
  than starting it costs (:data:`POOL_STARTUP_SECONDS`): a study of a few cheap configurations
  never starts a process. With one worker, or a single task, it runs inline.
* :class:`RayExecutor` (``pip install 'crypto-strategy-lab[ray]'``): the bars are put once in
  the object store and each trial is a Ray task. ``address=None`` starts a local Ray instance
  for the duration of the run; ``"auto"`` or ``"ray://host:10001"`` joins an existing cluster,
  whose nodes need this package installed (same version) — no code changes.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.research.trial import TrialOutcome, TrialTask, evaluate_trial

OnResult = Callable[[TrialTask, TrialOutcome], None]


class ExecutorError(CSLError):
    """An executor that cannot start (unknown name, Ray missing or unreachable)."""


class TrialExecutor(Protocol):
    """Runs trials and reports each outcome in the calling process."""

    name: str

    def run(self, tasks: Sequence[TrialTask], bars: pd.DataFrame, on_result: OnResult) -> None:
        """Evaluate every task on ``bars``; call ``on_result(task, outcome)`` per task.

        Parameters
        ----------
        tasks : Sequence[TrialTask]
            The trials to evaluate (configuration and backtest settings each).
        bars : pandas.DataFrame
            The OHLCV bars every task is evaluated on.
        on_result : OnResult
            Called as ``on_result(task, outcome)`` in the calling process, once per task, in
            the order the outcomes are ready (not necessarily the order of `tasks`).
        """
        ...

    def close(self) -> None:
        """Release what ``run`` started and kept for the next one (worker processes)."""
        ...


# the bars of the run a worker last served: (path of their pickle, frame)
_WORKER_BARS: dict[str, Any] = {}


def _evaluate_in_worker(bars_path: str, task: TrialTask) -> TrialOutcome:
    if _WORKER_BARS.get("path") != bars_path:
        _WORKER_BARS["path"], _WORKER_BARS["bars"] = bars_path, pd.read_pickle(bars_path)
    return evaluate_trial(task, _WORKER_BARS["bars"])


def default_workers() -> int:
    """CPUs this process may use, at least 1.

    Returns
    -------
    int
        The size of ``os.sched_getaffinity(0)`` (the CPUs the process is allowed on), or
        ``os.cpu_count()`` where that call does not exist (not Linux).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


POOL_STARTUP_SECONDS = 5.0
"""Wall time a pool of spawned workers costs before it returns a result: each worker imports
the package, numpy, pandas and numba's cached kernels. Measured on the 2-core box under load:
``csl validate`` of two ``lag_autocorr`` configurations took 16.5 s with a two-worker pool and
6.8 s inline; a 16-configuration study 15.3 s pooled, 9.2 s inline."""


class LocalExecutor:
    """Trials in local worker processes (``workers`` default: the CPUs available).

    Parameters
    ----------
    workers:
        Most worker processes; 1 runs every trial inline.
    startup_seconds:
        The pool's start-up cost that inline trials are weighed against before the pool
        exists (:data:`POOL_STARTUP_SECONDS`); 0 starts it after the first trial.
    """

    name = "local"

    def __init__(
        self, workers: int | None = None, startup_seconds: float = POOL_STARTUP_SECONDS
    ) -> None:
        if workers is not None and workers < 1:
            raise ExecutorError(f"workers must be >= 1, got {workers}")
        self.workers = workers or default_workers()
        self.startup_seconds = startup_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._runs = 0

    def run(self, tasks: Sequence[TrialTask], bars: pd.DataFrame, on_result: OnResult) -> None:
        """Evaluate ``tasks`` inline while that is cheaper than the pool, the rest in the pool.

        Before the pool exists, trials run inline until the inline time of the rest,
        extrapolated from the trials done, saves more than ``startup_seconds`` when spread
        over the workers; with one worker, or one task left, everything runs inline.

        Parameters
        ----------
        tasks : Sequence[TrialTask]
            The trials to evaluate (configuration and backtest settings each).
        bars : pandas.DataFrame
            The OHLCV bars every task is evaluated on.
        on_result : OnResult
            Called as ``on_result(task, outcome)`` in the calling process, once per task, in
            the order the outcomes are ready (not necessarily the order of `tasks`).

        Raises
        ------
        Exception
            Whatever a trial raised (in a worker, re-raised here by ``future.result()``).
        """
        tasks = list(tasks)
        if self._pool is None:
            tasks = tasks[self._inline_while_cheaper(tasks, bars, on_result) :]
        if min(self.workers, len(tasks)) <= 1:
            for task in tasks:
                on_result(task, evaluate_trial(task, bars))
            return
        pool = self._start()
        assert self._scratch is not None
        self._runs += 1
        path = str(Path(self._scratch.name) / f"bars-{self._runs}.pkl")
        bars.to_pickle(path)
        try:
            pending = {pool.submit(_evaluate_in_worker, path, task): task for task in tasks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(pending.pop(future), future.result())
        finally:
            Path(path).unlink(missing_ok=True)

    def _inline_while_cheaper(
        self, tasks: list[TrialTask], bars: pd.DataFrame, on_result: OnResult
    ) -> int:
        """Run ``tasks`` inline while a pool would not pay for its start-up; how many ran."""
        started, done = time.perf_counter(), 0
        while done < len(tasks):
            on_result(tasks[done], evaluate_trial(tasks[done], bars))
            done += 1
            n = min(self.workers, len(tasks) - done)
            # n workers save (1 - 1/n) of the rest's inline time, estimated from the trials
            # timed so far; the pool pays when that saving exceeds its start-up
            rest = (time.perf_counter() - started) / done * (len(tasks) - done)
            if n > 1 and rest * (1 - 1 / n) > self.startup_seconds:
                break
        return done

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
            self._scratch = tempfile.TemporaryDirectory(prefix="csl-bars-")
            # a forgotten close() still stops the workers and removes the scratch files
            weakref.finalize(self, _shutdown, self._pool, self._scratch)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (the next ``run`` starts new ones)."""
        if self._pool is not None:
            _shutdown(self._pool, self._scratch)
            self._pool, self._scratch = None, None

    def __enter__(self) -> LocalExecutor:
        """The executor itself; leaving the block closes its pool."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the pool (:meth:`close`)."""
        self.close()


def _shutdown(pool: ProcessPoolExecutor, scratch: tempfile.TemporaryDirectory[str] | None) -> None:
    pool.shutdown(wait=True, cancel_futures=True)
    if scratch is not None:
        scratch.cleanup()


def _ray_evaluate(bars: pd.DataFrame, task: TrialTask) -> TrialOutcome:
    return evaluate_trial(task, bars)


class RayExecutor:
    """Trials as Ray tasks on a local instance (``address=None``) or a cluster.

    Parameters
    ----------
    address : str or None, optional
        ``None`` (default): start a local Ray instance for each run; ``"auto"`` or
        ``"ray://host:10001"``: join that cluster.
    num_cpus : int or None, optional
        CPUs of the local instance (``None``: Ray's default, all); ignored with an
        `address`.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus

    def close(self) -> None:
        """Nothing to release: each ``run`` shuts down the Ray instance it started."""

    @staticmethod
    def _ray() -> Any:
        try:
            import ray
        except ImportError:
            raise ExecutorError(
                "the Ray executor needs ray: pip install 'crypto-strategy-lab[ray]'"
            ) from None
        return ray

    def run(self, tasks: Sequence[TrialTask], bars: pd.DataFrame, on_result: OnResult) -> None:
        """Evaluate ``tasks`` as Ray tasks, starting a local Ray instance if none is running.

        The bars are put once in the object store; a Ray instance started here is shut
        down when the run ends, one that was already running is left running.

        Parameters
        ----------
        tasks : Sequence[TrialTask]
            The trials to evaluate (configuration and backtest settings each).
        bars : pandas.DataFrame
            The OHLCV bars every task is evaluated on.
        on_result : OnResult
            Called as ``on_result(task, outcome)`` in the calling process, once per task, in
            the order the outcomes are ready (not necessarily the order of `tasks`).

        Raises
        ------
        ExecutorError
            If ray is not installed, or Ray cannot be started or reached.
        """
        ray = self._ray()
        started_here = not ray.is_initialized()
        if started_here:
            options: dict[str, Any] = {"log_to_driver": False}
            if self.address is None:
                options |= {"num_cpus": self.num_cpus, "include_dashboard": False}
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"cannot start or reach Ray ({self.address!r}): {exc}") from exc
        try:
            remote = ray.remote(_ray_evaluate)
            bars_ref = ray.put(bars)
            refs = {remote.remote(bars_ref, task): task for task in tasks}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    on_result(refs[ref], ray.get(ref))
        finally:
            if started_here:
                ray.shutdown()


def make_executor(
    name: str = "local", *, workers: int | None = None, address: str | None = None
) -> TrialExecutor:
    """The executor of a name: ``"local"`` (processes) or ``"ray"``.

    Parameters
    ----------
    name : {"local", "ray"}, default "local"
        Which executor.
    workers : int or None, optional
        Most worker processes (``local``) or the local Ray instance's CPUs (``ray``);
        ``None``: the CPUs available (:func:`default_workers`) or Ray's default.
    address : str or None, optional
        The Ray cluster to join (``ray`` only); ``None``: a local instance.

    Returns
    -------
    TrialExecutor
        A :class:`LocalExecutor` or a :class:`RayExecutor`.

    Raises
    ------
    ExecutorError
        For another name, an `address` with ``local``, or ``workers < 1``.
    """
    if name == "local":
        if address is not None:
            raise ExecutorError("--address applies to the ray executor only")
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(address, num_cpus=workers)
    raise ExecutorError(f"unknown executor {name!r}; use 'local' or 'ray'")
