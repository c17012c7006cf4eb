"""The download code against a loopback HTTP server serving the bundled slice (no internet)."""

import functools
import http.server
import threading

import pytest
from conftest import LIN_CSV, data_config

from xnet.data.catalog import load_catalog
from xnet.errors import XnetError
from xnet.fetch import fetch


@pytest.fixture
def server(tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "XMM_TD_MW_XCLASS.csv").write_bytes(LIN_CSV.read_bytes())
    (tmp_path / "www" / "wrong.csv").write_text("a,b\n1,2\n")
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www")
    )
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_downloads_validates_and_is_used_by_the_full_config(server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("XNET_DATA_HOME", str(home))
    path = fetch("lin2024", url=f"{server}/XMM_TD_MW_XCLASS.csv", progress=False)
    assert path == home / "XMM_TD_MW_XCLASS.csv" and path.read_bytes() == LIN_CSV.read_bytes()
    assert [p.name for p in home.iterdir()] == ["XMM_TD_MW_XCLASS.csv"]  # no temporary file left
    catalog = load_catalog(data_config("xmm_lin2024_full"))
    assert catalog.name == "xmm_lin2024_full" and len(catalog.frame) == 1008
    # a second call finds the file and does not download again
    assert fetch("lin2024", url=f"{server}/gone.csv", progress=False) == path


def test_wrong_file_is_rejected_and_not_kept(server, tmp_path):
    home = tmp_path / "home"
    with pytest.raises(XnetError, match="label column 'Class' not found"):
        fetch("lin2024", home=home, url=f"{server}/wrong.csv", progress=False)
    assert list(home.iterdir()) == []


def test_offline_is_a_clear_error(tmp_path):
    with pytest.raises(XnetError, match="could not download .* put it at .*XMM_TD_MW_XCLASS.csv"):
        fetch(
            "lin2024", home=tmp_path, url="http://127.0.0.1:9/XMM_TD_MW_XCLASS.csv", progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_missing_full_catalog_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XNET_DATA_HOME", str(tmp_path))
    with pytest.raises(XnetError, match="python -m xnet.fetch lin2024"):
        load_catalog(data_config("xmm_lin2024_full"))
