"""Look at a sweep's TensorBoard as a person would: headless Chromium screenshots of its tabs.

    python -m xnet.train -m data=csc_muwclass features=xray_mw cv.folds=3 model.hidden=10,30 \
        hydra.sweep.dir=outputs/browse
    python benchmarks/tensorboard_screenshots.py outputs/browse/tensorboard --out outputs/browse/screens

Starts `tensorboard --logdir <logdir>` on a free local port, then Debian's `chromium` (install:
`apt-get install -y chromium`) headless, one PNG per tab (scalars, hparams, custom scalars,
images), and stops the TensorBoard it started. The screenshots are for looking: what the tests
assert about the same runs (sessions, hparams keys, metrics) is read from the event files
(tests/test_board.py).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TABS = {
    "scalars": "timeseries",
    "hparams": "hparams",
    "custom_scalars": "custom_scalars",
    "images": "images",
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(
        f"tensorboard_screenshots: error: TensorBoard did not answer at {url} within {seconds:.0f} s"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("outputs/screens"))
    parser.add_argument("--size", default="1600,1000", help="window width,height in pixels")
    parser.add_argument(
        "--wait-ms", type=int, default=15000, help="virtual time Chromium gives the page to load"
    )
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit(
            "tensorboard_screenshots: error: no chromium on PATH; apt-get install -y chromium"
        )
    if not args.logdir.is_dir():
        raise SystemExit(f"tensorboard_screenshots: error: logdir {args.logdir} is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    board = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(args.logdir),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/data/runs")
        for name, tab in TABS.items():
            png = args.out / f"{name}.png"
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run(
                    [
                        browser,
                        *CHROMIUM_FLAGS,
                        f"--user-data-dir={profile}",
                        f"--window-size={args.size}",
                        f"--virtual-time-budget={args.wait_ms}",
                        f"--screenshot={png}",
                        f"http://127.0.0.1:{port}/#{tab}",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
            print(png)
    finally:
        board.terminate()
        board.wait(timeout=30)


if __name__ == "__main__":
    main()
