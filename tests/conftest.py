"""Shared helpers: compose the real config with tiny overrides (Hydra's compose API, in-process);
run the real command line (only the `cli`-marked tests do)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from xnet.config.compose import BUNDLED_DATA_DIR, compose_config  # noqa: F401 (the tests' composer)

LIN_CSV = BUNDLED_DATA_DIR / "lin2024_4xmm_dr13_sample.csv"
CSC_CSV = BUNDLED_DATA_DIR / "muwclass_cscv2_td.csv"
FAST = ["trainer.max_epochs=3", "logger=none", "figures.enabled=false"]


def data_config(name: str, **changes) -> dict:
    cfg = OmegaConf.to_container(compose_config([f"data={name}"]).data, resolve=True)
    cfg.update(changes)
    return cfg


def run_cli(
    module: str, *args: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """`python -m <module> args...` as a user would type it."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,
    )


def raw_lin() -> pd.DataFrame:
    """The bundled XMM slice as strings, exactly as in the file (for writing altered copies)."""
    return pd.read_csv(LIN_CSV, dtype=str, keep_default_na=False)


@pytest.fixture
def lin_frame_text():
    return raw_lin()


@pytest.fixture(autouse=True)
def _signals_back():
    """An entry point run in-process (`main()`) installs xnet's SIGTERM/SIGINT handling
    (`xnet.errors.stop_on_signals`): pytest gets its own handlers back after each test."""
    import signal

    from xnet import errors

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
    errors._requested = None


@pytest.fixture(autouse=True, scope="session")
def _data_home(tmp_path_factory):
    """The figure cache (and anything else under the data home) goes to a temporary folder, never
    the user's ~/xnet_data."""
    os.environ["XNET_DATA_HOME"] = str(tmp_path_factory.mktemp("xnet_data_home"))
    yield


#: modules whose tests train networks and assert on what they learn, or compare two code paths'
#: floats: `.ci/run` runs them again under other CPUs' kernels (ATEN_CPU_CAPABILITY=default, avx2)
NUMERICS_MODULES = {
    "test_calibration",
    "test_ensemble",
    "test_lightning",
    "test_lightcurve_seam",
    "test_retire",
    "test_stacking",
    "test_train",
    "test_trees",
}


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """One small hold-out run (`FAST`), trained once for the tests that only read it."""
    from xnet.api import train

    run = tmp_path_factory.mktemp("small") / "run"
    train(compose_config(FAST), run)
    return run


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in NUMERICS_MODULES:
            item.add_marker(pytest.mark.numerics)


@pytest.fixture
def keep_logging():
    """A command's Hydra set-up points the root logger at the test's captured stderr: restore it."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
