"""The one config schema (xnet.config): Hydra structured configs give every key of train.yaml and
predict.yaml a type, the range rules are one table, one reader splits the command line, and every
key is checked before any work: an unknown key, a value of the wrong type or out of range is one
line (`xnet: error: ...`, exit 2), from the command line or from a config file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAST
from omegaconf import OmegaConf

from xnet.config import argv as argv_reader
from xnet.config import structured
from xnet.config.compose import CONFIG_DIR, compose_config
from xnet.config.rules import RULES
from xnet.errors import XnetError


@pytest.fixture
def config_dir(tmp_path) -> Path:
    """A --config-dir with a mistyped key, a mistyped value and a model of one's own."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "model").mkdir()
    (tmp_path / "experiment" / "typo.yaml").write_text("# @package _global_\ncv:\n  foldz: 3\n")
    (tmp_path / "experiment" / "wrong.yaml").write_text(
        "# @package _global_\nmodel:\n  hidden: x\n"
    )
    (tmp_path / "model" / "mine.yaml").write_text("_target_: my.Net\nwidth: 3\n")
    return tmp_path


def run_train(argv, tmp_path, monkeypatch, capsys) -> str:
    """`python -m xnet.train argv` in-process; its stderr (it must exit 2 and write nothing)."""
    from xnet import train as train_command

    run = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["xnet.train", *argv, *FAST, f"hydra.run.dir={run}"])
    with pytest.raises(SystemExit) as exit_:
        train_command.main()
    assert exit_.value.code == 2
    # nothing but xnet's claim on the folder (`xnet.runs.run_claim`, taken before composing)
    assert not run.exists() or [p.name for p in run.iterdir()] == [".xnet-run"]
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, line",
    [
        (["cv.foldz=3"], "xnet: error: cv.foldz: no such config key; did you mean cv.folds?"),
        (
            ["features.features=xray"],
            "xnet: error: features.features=xray: not a value this key takes (Invalid value "
            "assigned: str is not a ListConfig, list or tuple); see `python -m xnet.train --cfg "
            "job` for its value",
        ),
        (
            ["coverage.confidence=2"],
            "xnet: error: coverage.confidence=2: must be one of probability, decision, lower_bound",
        ),
        (
            ["-m", "coverage.confidence=decision,lowerbound"],
            "xnet: error: coverage.confidence=lowerbound: must be one of probability, decision, "
            "lower_bound",
        ),
    ],
)
def test_unknown_key_wrong_type_and_bad_choice_on_the_command_line_are_one_line(
    tmp_path, monkeypatch, capsys, keep_logging, argv, line
):
    err = run_train(argv, tmp_path, monkeypatch, capsys)
    assert err.strip().splitlines() == [line]


@pytest.mark.parametrize(
    "choice, line",
    [
        (
            "experiment=typo",
            "xnet: error: cv.foldz: Key 'foldz' not in 'CrossValidation' (in 'experiment/typo'); "
            "the config cannot be composed: correct or remove the key",
        ),
        (
            "experiment=wrong",
            "xnet: error: model.hidden: Value 'x' of type 'str' could not be converted to Integer "
            "(in 'experiment/wrong'); the config cannot be composed: correct or remove the key",
        ),
    ],
)
def test_unknown_key_and_wrong_type_in_a_config_file_are_one_line_at_composition(
    tmp_path, monkeypatch, capsys, keep_logging, config_dir, choice, line
):
    err = run_train(["--config-dir", str(config_dir), choice], tmp_path, monkeypatch, capsys)
    assert len(err.strip().splitlines()) == 1 and err.startswith(line)
    assert "HYDRA_FULL_ERROR" not in err and "Traceback" not in err


def test_python_api_refuses_a_bad_confidence_and_an_unknown_key_before_any_work(tmp_path):
    from xnet.training import train

    with pytest.raises(XnetError, match="^coverage.confidence=2: must be one of probability"):
        train(compose_config([*FAST, "coverage.confidence=2"]), tmp_path / "run")
    with pytest.raises(XnetError, match="^cv.foldz: Key 'foldz' not in 'CrossValidation'"):
        compose_config([*FAST, "cv.foldz=3"])
    assert not (tmp_path / "run").exists()


def test_schema_types_the_composed_config_and_adds_no_key(config_dir):
    cfg = compose_config([])
    assert OmegaConf.get_type(cfg) is structured.Train
    assert OmegaConf.get_type(cfg.model) is structured.MLP
    assert isinstance(cfg.model.hidden, int) and isinstance(cfg.split.val_size, float)
    # a model of one's own (a group file in --config-dir) keeps its own keys, untyped
    mine = compose_config(["model=mine"], config_dir=_merged_conf(config_dir))
    assert mine.model.width == 3 and "hidden" not in mine.model
    # the defaults of the typed sections are the YAML's, so that a config file of one's own that
    # leaves a key out gets the value the bundled one has
    defaults = OmegaConf.structured(structured.Train)
    for section in ("split", "cv", "ensemble", "calibration", "coverage", "batching", "report"):
        assert cfg[section] == defaults[section], section
    assert cfg.model == OmegaConf.structured(structured.MLP)
    predict = compose_config(config_name="predict")
    assert OmegaConf.get_type(predict) is structured.Predict
    assert predict == OmegaConf.structured(structured.Predict)


def _merged_conf(extra: Path) -> Path:
    """conf/ plus `extra`'s groups, as one folder (compose_config takes one directory)."""
    import shutil

    merged = extra / "merged"
    shutil.copytree(CONFIG_DIR, merged)
    shutil.copytree(extra / "model", merged / "model", dirs_exist_ok=True)
    return merged


def test_every_range_rule_names_a_key_the_schema_or_an_open_map_defines():
    for name, rules in RULES.items():
        cls = structured.schema(name)
        for key in rules:
            open_map = key.split(".")[0] in ("data", "trainer", "resample")
            assert open_map or structured.is_typed(cls, key), key


def test_one_reader_splits_options_overrides_and_config_dirs():
    command = argv_reader.parse(
        [
            "-m",
            "--config-dir",
            "a",
            "--config-dir=b",
            "-cd",
            "c",
            "--cfg",
            "job",
            "+model.x=1",
            "++seed=2",
            "~data.filters",
            "data=csc_muwclass",
            "model.hidden=10,30",
            "overwrite=true",
        ]
    )
    assert command.multirun
    assert command.config_dirs(Path("conf")) == [Path(p) for p in ("conf", "a", "b", "c")]
    assert [(o.prefix, o.key) for o in command.overrides] == [
        ("+", "model.x"),
        ("++", "seed"),
        ("~", "data.filters"),
        ("", "data"),
        ("", "model.hidden"),
        ("", "overwrite"),
    ]
    assert command.values()["overwrite"] == "true" and "data.filters" not in command.values()
    assert argv_reader.override_values("model.hidden=10,30") == [10, 30]


@pytest.mark.cli
def test_a_config_error_imports_neither_torch_nor_lightning(tmp_path):
    code = (
        "import sys\n"
        "from xnet.train import main\n"
        f"sys.argv = ['xnet.train', 'cv.foldz=3', 'hydra.run.dir={tmp_path / 'run'}']\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print(sorted({'torch', 'lightning'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout.strip() == "[]"
    assert result.stderr.strip().splitlines() == [
        "xnet: error: cv.foldz: no such config key; did you mean cv.folds?"
    ]
