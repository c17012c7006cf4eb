"""Light-curve readers (xnet.data.lightcurves): each format round-trips what the simulator wrote
(XMM-Newton SRCTSR and Chandra lc3 folders, long tables in CSV, Parquet and FITS), with GTIs,
gaps, NaN rates and the rate table in a later HDU; binning onto a masked grid; bad input is one
line naming the file."""

from __future__ import annotations

import gzip
from dataclasses import replace

import numpy as np
import pytest

from xnet.data.lightcurves.binning import Binning, bin_lightcurve
from xnet.data.lightcurves.join import LightCurveInput, LightCurveSource
from xnet.data.lightcurves.long_table import read_long_table
from xnet.data.lightcurves.products import index_folder, product_format, read_product
from xnet.data.lightcurves.records import make_lightcurve
from xnet.errors import XnetError
from xnet.testing.lightcurves.demo import simulate_sources, write_sources
from xnet.testing.lightcurves.writers import write_xmm_file, xmm_name


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """12 simulated sources with light curves in all three formats."""
    folder = tmp_path_factory.mktemp("lightcurves")
    frame, curves = simulate_sources(12, seed=3, lightcurve_share=1.0)
    write_sources(folder, frame, curves, ["xmm", "csc", "table"])
    return folder, frame, curves


def test_xmm_srctsr_round_trip_with_gtis_gaps_and_nan_rates(simulated, tmp_path):
    folder, frame, curves = simulated
    entries = index_folder(folder / "xmm", product_format("xmm"))
    assert [source for source, _ in entries] == list(frame["name"])  # ids from the file names
    gapped = next(row for row, c in curves.items() if len(c.gti) > 1)  # an observation with gaps
    curve = curves[gapped]
    path = dict(entries)[frame["name"][gapped]]
    lc = read_product(path, "xmm")
    np.testing.assert_allclose(lc.time, curve.time)  # TIMEPIXR = 0: bin starts moved to centres
    np.testing.assert_allclose(lc.gti, curve.gti)  # SRC_GTIS, not the wider BKG_GTIS
    no_exposure = curve.exposure == 0
    assert no_exposure.any() and np.isnan(lc.countrate[no_exposure]).all()
    np.testing.assert_allclose(lc.countrate[~no_exposure], curve.rate[~no_exposure], rtol=1e-6)
    np.testing.assert_allclose(lc.frac_exp, curve.frac_exp, rtol=1e-6)
    # the same file with two unrelated tables before RATE reads the same
    later = write_xmm_file(tmp_path / path.name, curve, "0000010001", 1, leading_tables=2)
    np.testing.assert_array_equal(read_product(later, "xmm").countrate, lc.countrate)


def test_csc_lc3_round_trip_with_bins_of_varying_width(simulated):
    folder, frame, curves = simulated
    entries = dict(index_folder(folder / "csc", product_format("csc")))
    assert list(entries) == list(frame["csc_id"])
    row = next(iter(curves))
    curve, lc = curves[row], read_product(entries[frame["csc_id"][row]], "csc")
    assert len(set(np.round(lc.bin_width))) > 1  # Gregory-Loredo-like bins differ in width
    np.testing.assert_allclose(lc.gti, curve.gti)
    exposed = curve.exposure > 0
    total = np.sum(lc.countrate * lc.bin_width) / lc.bin_width.sum()
    within = np.sum(curve.rate[exposed] * curve.dt) / (curve.dt * exposed.sum())
    assert total == pytest.approx(within, rel=0.05)  # the same light curve, binned coarser


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".fits"])
def test_long_table_round_trip(simulated, tmp_path, suffix):
    folder, frame, curves = simulated
    from xnet.testing.lightcurves.writers import write_long_table

    path = write_long_table(tmp_path / f"curves{suffix}", curves.values())
    read = dict(read_long_table(path))
    assert list(read) == list(frame["name"])
    curve = curves[0]
    lc = read[frame["name"][0]]
    np.testing.assert_allclose(lc.time, curve.time)
    np.testing.assert_allclose(lc.countrate, curve.rate, rtol=1e-6)  # NaN where unexposed, too


def test_binning_masks_gaps_and_weights_by_exposure():
    # 10 bins of 10 s; bins 4-5 lie in a GTI gap, bin 8 has a NaN rate
    time = np.arange(10) * 10.0 + 5
    rate = np.array([1, 1, 3, 3, 99, 99, 2, 2, np.nan, 2], float)
    exposure = np.array([1, 1, 1, 0.5, 1, 1, 1, 1, 1, 1])
    lc = make_lightcurve(
        time, rate, np.ones(10), dt=10.0, gti=[[0, 40], [60, 100]], frac_exp=exposure
    )
    values, _ = bin_lightcurve(lc, Binning(bins=5, normalise="none"))
    rate_out, mask = values
    np.testing.assert_array_equal(mask, [1, 1, 0, 1, 1])  # the gap's bin is masked, not 99
    assert rate_out[1] == pytest.approx(3.0)  # bins 2 and 3 at rate 3 (exposures 1 and 0.5)
    assert rate_out[4] == pytest.approx(2.0)  # bin 9 alone: the NaN bin carries no exposure
    scaled, _ = bin_lightcurve(lc, Binning(bins=5, normalise="mean"))
    np.testing.assert_allclose(
        scaled[0][mask > 0], rate_out[mask > 0] / rate_out[mask > 0].mean() - 1
    )
    padded, cut = bin_lightcurve(lc, Binning(mode="fixed_width", bins=8, bin_seconds=20.0))
    assert not cut and padded[1][5:].sum() == 0  # a 100 s span fills 5 bins of 20 s; the rest pads


def test_source_joins_by_id_with_timing_features(simulated):
    folder, frame, curves = simulated
    source = LightCurveSource.from_config({"format": "xmm", "path": str(folder / "xmm")})
    ids = [None, "no such source", *frame["name"][:3]]
    settings = LightCurveInput.from_config({"input": "lc", "binning": {"bins": 16}})
    columns, sequences = settings.build(source.load(ids))
    assert list(columns["lc_present"]) == [0, 0, 1, 1, 1]
    assert columns.iloc[:2, :4].isna().all().all() and columns.iloc[2:, :4].notna().all().all()
    assert sequences.shape == (5, 2, 16) and not sequences[:2].any() and sequences[2:, 1].any()


def _xmm_file(folder, frame, curves, row, inst="PN"):
    obs, number = frame["name"][row].split("_")
    path = folder / xmm_name(obs, int(number), inst=inst)
    return write_xmm_file(path, curves[row], obs, int(number))


def _bad_inputs(tmp_path, simulated):
    """(expected words, action, the file the message must name) per kind of bad input."""
    _, frame, curves = simulated
    target = tmp_path / "xmm"
    target.mkdir()
    first = _xmm_file(target, frame, curves, 0)
    _xmm_file(target, frame, curves, 1)
    source = LightCurveSource.from_config({"format": "xmm", "path": str(target)})
    yield (
        "has no catalog row",
        lambda: source.check_matched(frame["name"][1:], "cat.csv"),
        first.name,
    )
    twin = _xmm_file(target, frame, curves, 0, inst="M1")  # the same source seen by MOS1
    source = LightCurveSource.from_config({"format": "xmm", "path": str(target)})
    yield "duplicate ids", lambda: source.load(frame["name"][:1]), twin.name
    table = tmp_path / "unsorted.csv"
    table.write_text("source_id,time,rate,rate_err\na,1,1,1\na,3,1,1\na,2,1,1\n")
    yield "not increasing", lambda: read_long_table(table), table.name
    table = tmp_path / "nonfinite.csv"
    table.write_text("source_id,time,rate,rate_err\na,1,1,1\na,nan,1,1\n")
    yield "not finite", lambda: read_long_table(table), table.name
    none = replace(curves[0], time=curves[0].time[:0], counts=curves[0].counts[:0])
    empty = write_xmm_file(
        tmp_path / xmm_name("0000000001", 1), replace(none, exposure=none.counts), "0000000001", 1
    )
    yield "zero-length series", lambda: read_product(empty, "xmm"), empty.name
    corrupt = tmp_path / xmm_name("0000000002", 1)
    corrupt.write_bytes(gzip.decompress(first.read_bytes())[:4000])  # cut inside the RATE table
    yield "not a readable FITS", lambda: read_product(corrupt, "xmm"), corrupt.name


def test_bad_input_is_one_line_naming_the_file(tmp_path, simulated):
    for expected, action, name in _bad_inputs(tmp_path, simulated):
        with pytest.raises(XnetError) as err:
            action()
        message = str(err.value)
        assert expected in message and name in message and "\n" not in message, message
