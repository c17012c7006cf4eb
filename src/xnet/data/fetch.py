"""`python -m xnet.fetch lin2024`: download a labelled catalog that is too large to bundle.

Modelled on scikit-learn's fetchers: a data home overridable by $XNET_DATA_HOME, a file that is
downloaded once, validated (columns and labels, through the same data YAML training uses) and only
then moved into place (with the umask's default mode, like every xnet output), so an interrupted
or wrong download never leaves a usable-looking file.
"""

from __future__ import annotations

import argparse
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from xnet.config.compose import DATA_HOME_ENV, compose_data_config, data_home
from xnet.data.catalog import load_catalog
from xnet.errors import XnetError, exit_on_error, stop_on_signals
from xnet.files import publish, temporary_beside


@dataclass(frozen=True)
class RemoteCatalog:
    filename: str
    url: str
    data_config: str  # conf/data/<name>.yaml describing the file
    classes: tuple[str, ...]  # labels the file may hold
    sha256: str | None = None  # not published for this file; columns and labels are checked instead


LIN2024_CLASSES = ("AGN", "CV", "HM-STAR", "HMXB", "LM-STAR", "LMXB", "NS", "NS_BIN", "YSO")

REMOTE = {
    "lin2024": RemoteCatalog(
        filename="XMM_TD_MW_XCLASS.csv",
        url="https://yichaolin-astro.github.io/4XMM-DR13-XCLASS/XMM_TD_MW_XCLASS.csv",
        data_config="xmm_lin2024_full",
        classes=LIN2024_CLASSES,
    ),
}


def validate_catalog(path: Path, remote: RemoteCatalog) -> int:
    """Load the file exactly as training would; check its labels. Returns the number of sources."""
    cfg = {**compose_data_config(remote.data_config, resolve=False), "path": str(path)}
    catalog = load_catalog(cfg, labelled=True)
    unknown = sorted(set(catalog.classes) - set(remote.classes))
    if unknown:
        raise XnetError(
            f"{path}: unexpected class labels {unknown}; expected only {list(remote.classes)}"
        )
    return len(catalog.frame)


def download(url: str, target: Path, progress: bool = True, final: Path | None = None) -> str:
    """Stream `url` to `target` with a progress bar; returns the sha256 of what was written."""
    from tqdm import tqdm

    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress
            ) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        raise XnetError(
            f"could not download {url} ({reason}); with no network, download it elsewhere and put "
            f"it at {final or target} (the folder is ${DATA_HOME_ENV} or ~/xnet_data)"
        ) from None
    return digest.hexdigest()


def fetch(
    name: str,
    *,
    home: str | Path | None = None,
    url: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Path to the catalog `name` in the data home, downloading and validating it if missing."""
    if name not in REMOTE:
        raise XnetError(f"unknown catalog {name!r}; available: {', '.join(REMOTE)}")
    remote = REMOTE[name]
    folder = Path(home).expanduser() if home else data_home()
    target = folder / remote.filename
    if target.exists() and not force:
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise XnetError(
            f"cannot create data home {folder} ({err.strerror}); set {DATA_HOME_ENV} to a "
            f"writable folder"
        ) from None
    tmp = temporary_beside(target, suffix=".part" + "".join(target.suffixes))  # keeps the file type
    try:
        sha = download(url or remote.url, tmp, progress=progress, final=target)
        if remote.sha256 and sha != remote.sha256:
            raise XnetError(
                f"{url or remote.url}: checksum {sha} does not match the expected {remote.sha256}"
            )
        n = validate_catalog(tmp, remote)
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"{target}: {n} labelled sources (sha256 {sha})")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m xnet.fetch", description="Download a labelled catalog into the data home."
    )
    parser.add_argument("name", choices=sorted(REMOTE), help="catalog to download")
    parser.add_argument(
        "--data-home",
        default=None,
        help=f"folder to store it in (default ${DATA_HOME_ENV} or ~/xnet_data)",
    )
    parser.add_argument("--url", default=None, help="download from this address instead (a mirror)")
    parser.add_argument(
        "--force", action="store_true", help="download again even if the file exists"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    stop_on_signals()  # Ctrl-C or SIGTERM: one line, exit 130 / 143, no partial file
    exit_on_error(
        lambda: print(
            fetch(
                args.name,
                home=args.data_home,
                url=args.url,
                force=args.force,
                progress=not args.no_progress,
            )
        ),
        unfinished="nothing written",
    )


if __name__ == "__main__":
    main()
