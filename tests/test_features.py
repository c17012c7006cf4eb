"""Feature values checked by hand on known rows of the real catalogs."""

import numpy as np
import pytest
from conftest import compose_config, data_config

from xnet.data.catalog import load_catalog
from xnet.data.features import build_features, resolve_features
from xnet.errors import XnetError


def features_for(data: str, features: str):
    cfg = compose_config([f"data={data}", f"features={features}"])
    cat = load_catalog(data_config(data))
    spec = resolve_features(cfg.features, list(cat.frame.columns))
    return cat, spec, build_features(cat.frame, spec)


def row_of(cat, feats, source_id):
    return feats[cat.frame["source_id"] == source_id].iloc[0]


def test_xmm_xray_features_by_hand():
    cat, spec, feats = features_for("xmm_lin2024", "xray")
    assert spec.features == ["log_flux", "hr1", "hr2", "hr3", "hr4", "chi2prob", "fvar", "extent"]
    assert spec.columns[-2:] == ["chi2prob_missing", "fvar_missing"]
    assert {"hr_ms", "p_intra"} <= set(spec.skipped)
    first = row_of(
        cat, feats, "4XMM J000002.7-251136"
    )  # F8 = 7.30e-14, HR1 0.17, chi2prob 0.252, fvar 0.176
    assert first["log_flux"] == pytest.approx(np.log10(7.30e-14))
    assert first["hr1"] == pytest.approx(0.17) and np.isnan(first["hr4"])
    assert first["chi2prob_missing"] == 0 and first["fvar_missing"] == 0
    # F8 missing: the detections' flux range 2.1e-14 .. 2.1e-14 stands in; Fvar missing
    # -> indicator 1
    star = row_of(cat, feats, "4XMM J000103.8+443044")
    assert star["log_flux"] == pytest.approx(np.log10(2.1e-14))
    assert (
        np.isnan(star["fvar"])
        and star["fvar_missing"] == 1
        and star["chi2prob"] == pytest.approx(0.927)
    )


def test_chandra_hardness_ratios_and_colours_by_hand():
    cat, spec, feats = features_for("csc_muwclass", "xray_mw")
    assert {"hr_ms", "hr_hm", "hr_hms", "p_intra", "bp_rp", "log_fx_fo"} <= set(spec.features)
    assert "hr1" in spec.skipped
    # 2CXO J000009.3+135618: Fs 2e-15, Fm 5e-16, Fh 2e-15, Fb 4e-15, G 18.494, BP 18.77, RP 18.02,
    # rgeo 5342
    row = row_of(cat, feats, "2CXO J000009.3+135618")
    assert row["hr_ms"] == pytest.approx((5e-16 - 2e-15) / (5e-16 + 2e-15))
    assert row["hr_hm"] == pytest.approx((2e-15 - 5e-16) / (2e-15 + 5e-16))
    assert row["hr_hms"] == pytest.approx((2e-15 - 5e-16 - 2e-15) / (2e-15 + 5e-16 + 2e-15))
    assert row["log_flux"] == pytest.approx(np.log10(4e-15))
    assert row["bp_rp"] == pytest.approx(0.75)
    assert row["log_fx_fo"] == pytest.approx(np.log10(4e-15) + 18.494 / 2.5 + 5.37)
    assert row["abs_g"] == pytest.approx(18.494 - 5 * np.log10(5342 / 10))
    assert row["p_inter_missing"] == 1 and row["p_intra_missing"] == 0 and row["j_missing"] == 1


def test_catalog_columns_win_over_derivations():
    cat, spec, feats = features_for("xmm_lin2024", "xray_mw")
    row = row_of(cat, feats, "4XMM J000010.1-315949")  # ships BP-RP 0.701 and F_x/F_o 0.428
    assert row["bp_rp"] == pytest.approx(0.701)
    assert row["log_fx_fo"] == pytest.approx(np.log10(0.428))


def test_unknown_feature_name_is_an_error():
    with pytest.raises(XnetError, match="unknown feature 'hardness9'"):
        resolve_features({"name": "mine", "features": ["log_flux", "hardness9"]}, ["flux_total"])
    with pytest.raises(XnetError, match="provides none"):
        resolve_features({"name": "mine", "features": ["p_intra"]}, ["flux_total"])


def test_only_features_the_catalog_could_have_given_are_reported_missing():
    from xnet.data.labelled import missing_features

    # an XMM catalog: the Chandra ratios are another instrument's, log_rate was asked for and is
    # absent
    wanted, other = missing_features(
        ["log_rate", "hr_ms", "hr_hm", "hr_hms", "p_intra"], ["log_flux", "hr1", "hr2"]
    )
    assert wanted == ["log_rate"] and other == ["hr_ms", "hr_hm", "hr_hms", "p_intra"]
    # a catalog with one Chandra ratio but not the others: those were asked for and not given
    assert missing_features(["hr_hms", "hr1"], ["hr_ms", "hr_hm"]) == (["hr_hms"], ["hr1"])
