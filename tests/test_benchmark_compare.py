"""benchmarks/compare.py on a tiny configuration: every row of the table, real (tiny) fits."""

import os
import subprocess
import sys

import pytest

from xnet.config.compose import CONFIG_DIR

COMPARE = CONFIG_DIR.parent / "benchmarks" / "compare.py"


@pytest.mark.slow
def test_compare_runs_every_model_on_the_same_folds_and_writes_markdown(tmp_path):
    out = tmp_path / "comparison.md"
    result = subprocess.run(
        [
            sys.executable,
            str(COMPARE),
            "--tiny",
            "--data",
            "xmm_lin2024",
            "--features",
            "xray",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "xmm_lin2024, features=xray, 2-fold CV, seeds 1, 2" in text
    assert "torch 2." in text and "scikit-learn" in text and "lightgbm" in text  # the versions used
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert header.startswith(
        "| model | accuracy | balanced accuracy | macro-F1 | recall AGN | recall CV | recall "
        "LM-STAR"
    )
    assert (
        "| seed std (acc / bal.acc / F1) | faint 20 % (acc / bal.acc / F1) | sky-out (acc / "
        "bal.acc / F1) |" in header
    )
    names = [r.split(" | ")[0] for r in rows]
    assert len(rows) == 7 and any("experiment=csc_best" in n for n in names)
    assert any("MLPClassifier" in n for n in names) and any("LightGBM" in n for n in names)
    for row in rows:
        cells = row.strip("| ").split(" | ")
        mean, std = cells[2].split(
            " ± "
        )  # balanced accuracy, mean ± std over the 2 folds x 2 seeds
        assert 0 < float(mean) <= 1 and float(std) >= 0
        seed_std, faint, sky = ([float(v) for v in c.split(" / ")] for c in cells[-4:-1])
        assert (
            len(seed_std) == len(faint) == len(sky) == 3
        )  # accuracy / balanced accuracy / macro-F1
        assert all(v >= 0 for v in seed_std) and all(0 <= v <= 1 for v in faint + sky)
    assert not any(
        n.startswith("MUWCLASS") for n in names
    )  # its published row: Chandra xray_mw only
    assert "bal.acc" in result.stdout


def test_physics_features_of_the_best_configuration():
    """xray_mw_plus (the compared best feature set): formulas on known numbers, and what each
    catalog provides."""
    import numpy as np
    import pandas as pd
    import pytest
    from conftest import compose_config

    from xnet.data.derived import NU_F_NU_ZERO
    from xnet.data.features import compute_feature
    from xnet.data.labelled import prepare_labelled_set

    frame = pd.DataFrame(
        {
            "flux_soft": [1.0, 0.0],
            "flux_medium": [3.0, 0.0],
            "flux_soft_err": [0.1, 0.1],
            "flux_medium_err": [0.3, 0.1],
            "flux_total": [1e-13, 1e-13],
            "w1": [10.0, 12.5],
            "dist": [1000.0, np.nan],
            "parallax": [2.0, 1.0],
            "parallax_err": [0.5, 0.0],
        }
    )
    # HR = (3 - 1) / 4 = 0.5; error 2 sqrt(1^2 0.3^2 + 3^2 0.1^2) / 4^2 = 2 sqrt(0.18) / 16
    assert compute_feature(frame, "hr_ms")[0] == pytest.approx(0.5)
    assert compute_feature(frame, "hr_ms_err")[0] == pytest.approx(2 * np.sqrt(0.18) / 16)
    assert np.isnan(compute_feature(frame, "hr_ms_err")[1])  # no flux in either band: undefined
    # 2.5 magnitudes fainter in W1: the X-ray-to-W1 ratio one dex higher
    ratio = compute_feature(frame, "log_fx_fw1")
    assert ratio[1] - ratio[0] == pytest.approx(1.0)
    assert ratio[0] == pytest.approx(-13 + 4 - np.log10(NU_F_NU_ZERO["w1"]))
    assert compute_feature(frame, "log_lx")[0] == pytest.approx(
        np.log10(1e-13 * 4 * np.pi * (1000 * 3.0857e18) ** 2)
    )
    assert compute_feature(frame, "parallax_snr").tolist()[0] == 4.0 and np.isnan(
        compute_feature(frame, "parallax_snr")[1]
    )

    for data, provided, skipped in (
        ("csc_muwclass", "hr_hms_err", "hr1"),
        ("xmm_lin2024", "log_flux_b5", "hr_ms_err"),
    ):
        cfg = compose_config([f"data={data}", "features=xray_mw_plus"])
        labelled = prepare_labelled_set(cfg.data, cfg.features, 10)
        assert provided in labelled.spec.features and skipped in labelled.spec.skipped
        assert np.isfinite(labelled.x[:, labelled.spec.features.index(provided)]).any()
