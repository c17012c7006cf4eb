"""Print `src/` as a tree with each `.py` file's line count (docs/architecture.md's tree).

python docs/tree.py
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
SKIP = {"__pycache__", "bundled"}


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def walk(folder: Path, depth: int = 0) -> list[str]:
    out = []
    for path in sorted(folder.iterdir()):
        if path.name in SKIP or path.name.endswith(".egg-info"):
            continue
        if path.is_dir():
            total = sum(lines(f) for f in path.rglob("*.py"))
            out.append(f"{'    ' * depth}{path.name}/  ({total} lines)")
            out += walk(path, depth + 1)
        elif path.suffix == ".py":
            out.append(f"{'    ' * depth}{path.name}  {lines(path)}")
    return out


if __name__ == "__main__":
    print("\n".join(walk(ROOT)))
