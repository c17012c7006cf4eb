"""Look at a sweep's TensorBoard as a person would: headless Chromium screenshots of its tabs.

    python benchmarks/tensorboard_screenshots.py --out outputs/screens   # trains the 2-job sweep
    python benchmarks/tensorboard_screenshots.py <sweep dir>/tensorboard --out <folder>
    python benchmarks/tensorboard_screenshots.py --out outputs/screens --readme docs/images

Without a logdir it first trains the 2-job sweep of the README (`data=csc_muwclass
features=xray_mw cv.folds=3 model.hidden=10,30`, about a minute) into `<out>/sweep`. Then it starts
`tensorboard --logdir <logdir>` on a free local port and Debian's `chromium` (install:
`apt-get install -y chromium`) headless at 1600 x 1000 with a fresh profile, one PNG per tab
(time series, hparams, custom scalars, images, text), and stops the TensorBoard it started.
`--readme DIR` also writes the time-series, hparams and custom-scalars shots as small PNGs
(1000 px wide, 256 colours) for the documentation. The screenshots are for looking: what the
tests assert about the same runs (tags, runs, hparams columns, layout) is read from the event
files (tests/test_board.py).
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
    "timeseries": "timeseries",
    "hparams": "hparams",
    "custom_scalars": "custom_scalars",
    "images": "images",
    "text": "text",
}
#: the shots the documentation shows (docs/tensorboard.md)
README_SHOTS = ("timeseries", "hparams", "custom_scalars")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SWEEP = [
    "data=csc_muwclass",
    "features=xray_mw",
    "cv.folds=3",
    "model.hidden=10,30",
    "progress=false",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fail(message: str) -> SystemExit:
    return SystemExit(f"tensorboard_screenshots: error: {message}")


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise fail(f"TensorBoard did not answer at {url} within {seconds:.0f} s")


def train_sweep(out: Path) -> Path:
    """The README's 2-job sweep into `<out>/sweep`; its tensorboard/ folder."""
    sweep = out / "sweep"
    if sweep.exists():
        raise fail(f"{sweep} exists; remove it or pass its tensorboard/ folder as the logdir")
    command = [sys.executable, "-m", "xnet.train", "-m", *SWEEP, f"hydra.sweep.dir={sweep}"]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    return sweep / "tensorboard"


def screenshot(browser: str, url: str, png: Path, size: str, wait_ms: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--virtual-time-budget={wait_ms}",
                f"--screenshot={png}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def small_copy(png: Path, target: Path, width: int = 1000) -> None:
    """A documentation copy: `width` pixels wide, 256 colours (a screenshot's flat colours)."""
    from PIL import Image

    with Image.open(png) as image:
        height = round(image.height * width / image.width)
        small = image.convert("RGB").resize((width, height), Image.LANCZOS)
        small.quantize(256).save(target, optimize=True)


def take_all(logdir: Path, out: Path, size: str, wait_ms: int, browser: str) -> list[Path]:
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
        + ["--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shots = []
    try:
        wait_for(f"http://127.0.0.1:{port}/data/runs")
        for name, tab in TABS.items():
            png = out / f"{name}.png"
            # forceSVG: headless Chromium often leaves TensorBoard's WebGL charts undrawn
            screenshot(browser, f"http://127.0.0.1:{port}/?forceSVG=true#{tab}", png, size, wait_ms)
            print(png)
            shots.append(png)
    finally:
        board.terminate()
        board.wait(timeout=30)
    return shots


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", type=Path, nargs="?", help="default: train the 2-job sweep")
    parser.add_argument("--out", type=Path, default=Path("outputs/screens"))
    parser.add_argument("--size", default="1600,1000", help="window width,height in pixels")
    parser.add_argument(
        "--wait-ms", type=int, default=15000, help="virtual time Chromium gives the page to load"
    )
    parser.add_argument("--readme", type=Path, help="also write small copies here (docs/images)")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise fail("no chromium on PATH; apt-get install -y chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    logdir = args.logdir if args.logdir is not None else train_sweep(args.out)
    if not logdir.is_dir():
        raise fail(f"logdir {logdir} is not a folder")
    shots = take_all(logdir, args.out, args.size, args.wait_ms, browser)
    if args.readme is not None:
        args.readme.mkdir(parents=True, exist_ok=True)
        for png in shots:
            if png.stem in README_SHOTS:
                target = args.readme / f"tensorboard_{png.stem}.png"
                small_copy(png, target)
                print(f"{target} ({target.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
