"""A strategy's code version follows what its code does, not its bytes.

Each test copies the real ``lag_autocorr`` package, edits one thing and compares versions:
docstrings, comments and layout leave the version (and so every trial's identity) alone;
a constant, an operator, a default or a new file make a new one.
"""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.research import study as study_module
from crypto_strategy_lab.research.assessment import assess_study
from crypto_strategy_lab.research.identity import (
    code_version,
    strategy_code_version,
    strategy_source_files,
)
from crypto_strategy_lab.research.study import StudySpec, run_study
from crypto_strategy_lab.strategies import list_strategies, strategy_class
from tests.research.conftest import planted_edge_bars


@pytest.fixture
def package(tmp_path: Path) -> Path:
    source = Path(inspect.getfile(strategy_class("lag_autocorr"))).parent
    copy = tmp_path / "lag_autocorr"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def version(package: Path) -> str:
    return code_version(sorted(package.glob("*.py")))


def edited(package: Path, old: str, new: str, file: str = "signal.py") -> str:
    """The package's version after replacing ``old`` (which must occur) by ``new``."""
    path = package / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}: the test no longer edits anything"
    path.write_text(text.replace(old, new))
    return version(package)


ROOT = Path(inspect.getfile(strategy_class("vpin"))).resolve().parents[2]  # the package


def _named(files: list[Path]) -> set[str]:
    return {f.relative_to(ROOT).as_posix() for f in files}


def test_the_strategy_version_is_that_of_its_files_and_the_kernels_it_imports():
    files = strategy_source_files("vpin")
    assert strategy_code_version("vpin") == code_version(files, root=ROOT)
    named = _named(files)
    # its package, the shared helpers, and the stats modules its imports reach
    assert {"strategies/vpin/signal.py", "strategies/vpin/__init__.py"} <= named
    assert {"strategies/base.py", "stats/vpin.py", "stats/_windows.py"} <= named
    assert not {"stats/garch.py", "stats/spectral.py", "strategies/registry.py"} & named
    assert "stats/garch.py" in _named(strategy_source_files("volatility_clustering"))
    # a name imported from the stats package is followed to the module defining it
    assert "stats/__init__.py" not in _named(strategy_source_files("lag_autocorr"))
    versions = {strategy_code_version(name) for name in list_strategies()}
    assert len(versions) == len(list_strategies())


def _copied(tmp_path: Path, files: list[Path]) -> list[Path]:
    copies = []
    for file in files:
        copy = tmp_path / file.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, copy)
        copies.append(copy)
    return copies


def test_a_change_to_a_kernel_the_strategy_uses_makes_a_new_version(tmp_path):
    """Validated code is what the signal runs: an edit to the VPIN kernel (stats/vpin.py) or
    to the shared window helper changes the vpin strategy's version, a docstring edit there
    does not, and a kernel the strategy does not import is not part of it."""
    copies = _copied(tmp_path, strategy_source_files("vpin"))
    before = code_version(copies, root=tmp_path)
    assert before == strategy_code_version("vpin")
    kernel, windows = tmp_path / "stats" / "vpin.py", tmp_path / "stats" / "_windows.py"
    text = kernel.read_text()
    doc = text.index('"""') + 3
    kernel.write_text(text[:doc] + "An edited docstring. " + text[doc:])
    assert code_version(copies, root=tmp_path) == before
    edit = "b_sell[k] += take * (1.0 - share)"
    assert edit in text
    kernel.write_text(text.replace(edit, "b_sell[k] += take * (1.0 + share)"))
    assert code_version(copies, root=tmp_path) != before
    kernel.write_text(text)
    windows.write_text(windows.read_text() + "\nEXTRA = 1\n")
    assert code_version(copies, root=tmp_path) != before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the class docstring, rewritten
        ('"""Momentum on significant positive', '"""Trend following on significant positive'),
        # the module docstring, one more paragraph
        ("the critical value to 1 at twice it; otherwise 0.\n", "twice it.\n\nMore text.\n"),
        # a docstring where there was none (a method's)
        (
            "def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:\n",
            'def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:\n        """Frame."""\n',
        ),
        # a property's docstring, rewritten
        ('"""Bars before the first statistic:', '"""How many bars come before the statistic:'),
    ],
)
def test_a_docstring_edit_keeps_the_version(package, old, new):
    before = version(package)
    assert edited(package, old, new) == before


def test_a_comment_edit_keeps_the_version(package):
    before = version(package)
    edited(package, "# numerics load here, not at import", "# scipy is heavy: import it late")
    assert (
        edited(
            package,
            "        p = self.params\n",
            "        # a new comment\n        p = self.params\n",
        )
        == before
    )


def test_a_reformat_keeps_the_version(package):
    before = version(package)
    edited(package, 'name = "lag_autocorr"', "name = 'lag_autocorr'")
    edited(
        package,
        "lagged[p.lag - 1 :] = r[: r.size - p.lag + 1]",
        "lagged[p.lag-1:] = r[:r.size-p.lag+1]",
    )
    split = (
        "test = rolling_autocorrelation_test(\n"
        "            r,\n            window,\n            p.lag,\n        )"
    )
    edited(package, "test = rolling_autocorrelation_test(r, window, p.lag)", split)
    assert (
        edited(package, "\n\nclass LagAutocorrSignal", "\n\n\n\nclass LagAutocorrSignal") == before
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "z_crit = stats.norm.isf(p.alpha / 2)",
            "z_crit = stats.norm.isf(p.alpha / 3)",
        ),  # constant
        ("np.sign(test.rho) * np.sign(lagged)", "np.sign(test.rho) - np.sign(lagged)"),  # operator
        ("default=0.05, gt=0", "default=0.1, gt=0"),  # a parameter's default
        ("self.params.lb_lags + 1)", "self.params.lb_lags)"),  # an expression
    ],
)
def test_a_code_change_makes_a_new_version(package, old, new):
    before = version(package)
    assert edited(package, old, new) != before


def test_a_new_or_renamed_file_makes_a_new_version(package):
    before = version(package)
    (package / "kernels.py").write_text("LIMIT = 1\n")
    added = version(package)
    assert added != before
    (package / "kernels.py").rename(package / "limits.py")
    assert version(package) not in {before, added}


def test_a_new_code_version_adds_trials_and_keeps_the_old_ones(trial_log, inline, tmp_path):
    """Re-running a study after its strategy's version changed (as the switch from byte
    hashes to AST hashes changes every version once) logs its configurations again, and the
    family's N counts both: deflation grows, never shrinks."""
    bars = planted_edge_bars(seed=3)
    spec = StudySpec.from_space("s", "lag_autocorr", {"window": [40, 80], "lag": [1, 2, 3]})
    run = {"trial_log": trial_log, "executor": inline, "cache_dir": tmp_path / "cache"}
    first = run_study(spec, bars, **run)
    before = assess_study(first, trial_log)
    assert first.new_trials == 6 and before.n_trials == 6

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_module, "strategy_code_version", lambda name: "0123456789abcdef")
        rerun = run_study(spec, bars, **run)
        again = run_study(spec, bars, **run)
    assert rerun.new_trials == 6 and again.new_trials == 0
    frame = trial_log.trials(family=first.data.family)
    assert len(frame) == 12
    assert set(frame["code_version"]) == {strategy_code_version("lag_autocorr"), "0123456789abcdef"}
    # the code did not change, so the new trials repeat the old returns
    pd.testing.assert_frame_equal(rerun.returns, first.returns)

    after = assess_study(rerun, trial_log)
    assert after.n_trials == 12 and after.deflation.strategy_trials == 12
    old_sr = trial_log.trials(family=first.data.family)["sr"].to_numpy()[:6]
    twice = np.concatenate([old_sr, old_sr])  # every SR once per version
    assert after.sr_variance == pytest.approx(np.var(twice, ddof=1), rel=1e-12)
    assert after.criterion("dsr") < before.criterion("dsr")
