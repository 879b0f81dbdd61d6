"""One configuration: defaults < nbgrader_config.py < environment < command line, every name documented."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from mlplab import config
from mlplab.cli import main

REPO = Path(__file__).resolve().parents[1]


def _course(tmp_path: Path, body: str) -> Path:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + body)
    return tmp_path


def test_later_sources_win_and_each_value_says_where_it_came_from(tmp_path):
    root = _course(tmp_path, "c.Sandbox.memory_mb = 3000\nc.Sandbox.scratch_mb = 300\nc.Sandbox.tmp_mb = 30\n")
    settings = config.load(root, environ={"MLPLAB_SCRATCH_MB": "400", "MLPLAB_TMP_MB": "40"},
                           overrides={"Sandbox.tmp_mb": 50, "Sandbox.cpu_seconds": None})
    assert settings.sandbox.memory_mb == 3000
    assert settings.sandbox.scratch_mb == 400
    assert settings.sandbox.tmp_mb == 50
    assert settings.sandbox.cpu_seconds == config.Sandbox().cpu_seconds
    assert settings.sources["Sandbox.memory_mb"] == "nbgrader_config.py"
    assert settings.sources["Sandbox.scratch_mb"] == "$MLPLAB_SCRATCH_MB"
    assert settings.sources["Sandbox.tmp_mb"] == "command line"
    assert "Sandbox.cpu_seconds" not in settings.sources


def test_a_child_given_settings_environ_sees_the_same_settings(tmp_path):
    root = _course(tmp_path, "c.Sandbox.memory_mb = 3000\nc.Autograde.grader_debug = True\n")
    parent = config.load(root, environ={}, overrides={"Sandbox.scratch_mb": 128})
    child = config.load(None, environ=parent.environ())
    assert [(k, v) for k, v, _ in child.rows()] == [(k, v) for k, v, _ in parent.rows()]


def test_a_misspelt_key_warns_with_the_closest_setting(tmp_path, caplog):
    root = _course(tmp_path, "c.Sandbox.memroy_mb = 3000\nc.GradingSevice.workers = 4\n")
    with caplog.at_level(logging.WARNING, logger="mlplab.config"):
        settings = config.load(root, environ={})
    text = caplog.text
    assert "memroy_mb" in text and "memory_mb" in text
    assert "GradingSevice" in text and "GradingService" in text
    assert settings.sandbox.memory_mb == config.Sandbox().memory_mb


def test_nbgraders_own_autograde_keys_pass_silently_and_a_near_miss_of_ours_still_warns(tmp_path, caplog):
    root = _course(tmp_path, 'c.Autograde.exclude_overwriting = {"mlp": ["x.npz"]}\nc.Autograde.job_timout_s = 5\n')
    with caplog.at_level(logging.WARNING):
        settings = config.load(root, environ={})
    assert "exclude_overwriting" not in caplog.text
    assert "job_timout_s" in caplog.text and "job_timeout_s" in caplog.text
    assert settings.autograde.job_timeout_s == config.Autograde().job_timeout_s


@pytest.mark.parametrize("value", ["-3", "0", "lots"])
def test_a_bad_environment_value_is_one_sentence_naming_the_variable(value):
    with pytest.raises(config.ConfigError, match=r"\$MLPLAB_MEMORY_MB=.*Sandbox\.memory_mb"):
        config.load(None, environ={"MLPLAB_MEMORY_MB": value})


def test_a_bad_course_value_names_the_file(tmp_path):
    root = _course(tmp_path, "c.GradingService.counts = 'worst'\n")
    with pytest.raises(config.ConfigError, match="nbgrader_config.py.*counts"):
        config.load(root, environ={})


def test_the_configuration_page_is_generated_from_the_classes():
    page = (REPO / "docs" / "configuration.md").read_text()
    assert page == config.markdown_table(), "docs/configuration.md is stale: run `mlplab config --markdown`"


def test_every_mlplab_variable_in_the_toolkit_is_documented():
    documented = set(config.ENVIRONMENT) | set(config.INTERNAL)
    for cls in config.CLASSES:
        documented |= {t.metadata["env"] for t in config.configurable_traits(cls).values() if "env" in t.metadata}
    used = set()
    for path in (REPO / "mlplab").rglob("*.py"):
        used |= set(re.findall(r"MLPLAB_[A-Z_]*[A-Z]", path.read_text()))
    assert used <= documented, f"undocumented: {sorted(used - documented)}"


def test_mlplab_config_prints_value_and_source(tmp_path, capsys, monkeypatch):
    root = _course(tmp_path, "c.GradingService.workers = 5\n")
    monkeypatch.setenv("MLPLAB_CALL_TIMEOUT_S", "12.5")
    monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(root))  # restored afterwards (`--course` would leave it set)
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"GradingService\.workers\s+5\s+nbgrader_config\.py", out)
    assert re.search(r"Sandbox\.call_timeout_s\s+12\.5\s+\$MLPLAB_CALL_TIMEOUT_S", out)
    assert re.search(r"Sandbox\.memory_mb\s+2048\s+default", out)


@pytest.mark.parametrize("command", [["config"], ["autograde", "mlp", "--unsafe-no-sandbox"]])
def test_a_bad_setting_stops_config_and_autograde_with_one_sentence(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(_course(tmp_path, "")))
    (tmp_path / "grader_tests").mkdir()
    (tmp_path / "grader_tests" / "conftest.py").write_text("")  # a course with graders, so the settings decide
    monkeypatch.setenv("MLPLAB_MEMORY_MB", "lots")
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mlplab {command[0]}: ") and "$MLPLAB_MEMORY_MB" in err and "\n" not in err, err


def test_the_sandbox_limits_are_exactly_the_sandbox_settings():
    """mlplab.config.Sandbox is the one source of the limits: launch.Limits takes its defaults from there, and
    this keeps the names in step (a new setting without a limit would be read and silently never applied)."""
    from dataclasses import fields

    from mlplab.sandbox.host.launch import Limits

    assert {f.name for f in fields(Limits)} == set(config.Sandbox.class_traits(config=True)) - {"slot"}
    assert Limits() == Limits.from_settings(config.Sandbox())  # the same defaults


def test_scoped_environ_sets_and_unsets_inside_and_restores_after_even_on_error(monkeypatch):
    import os

    monkeypatch.setenv("MLPLAB_TEST_SET", "before")
    monkeypatch.delenv("MLPLAB_TEST_UNSET", raising=False)
    monkeypatch.setenv("MLPLAB_TEST_CLEARED", "present")
    with pytest.raises(RuntimeError), config.scoped_environ(
        {"MLPLAB_TEST_SET": "inside", "MLPLAB_TEST_UNSET": "new", "MLPLAB_TEST_CLEARED": None}
    ):
        assert os.environ["MLPLAB_TEST_SET"] == "inside"
        assert os.environ["MLPLAB_TEST_UNSET"] == "new"
        assert "MLPLAB_TEST_CLEARED" not in os.environ
        os.environ["MLPLAB_TEST_SET"] = "changed by the block"
        raise RuntimeError("the block failed")
    assert os.environ["MLPLAB_TEST_SET"] == "before"
    assert "MLPLAB_TEST_UNSET" not in os.environ
    assert os.environ["MLPLAB_TEST_CLEARED"] == "present"
