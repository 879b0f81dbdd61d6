"""MLP Lab's settings, in one place.

Every setting of the toolkit is a trait of one of the traitlets ``Configurable`` classes below, read the
way nbgrader and JupyterHub read theirs. Later sources win:

1. the default written here;
2. the course's ``nbgrader_config.py`` (``c.Sandbox.memory_mb = 4096``, ``c.GradingService.workers = 4``);
3. the environment variable the trait names (``MLPLAB_MEMORY_MB=4096``), for one shell or one CI job;
4. a command-line option (``mlplab grade --memory-mb 4096``).

A misspelt key in a section of ours (``c.Sandbox.memroy_mb``) or a misspelt section name
(``c.GradingSevice``) is a warning that names the closest setting. ``mlplab config`` prints the effective
value of every setting and where it came from; ``mlplab config --markdown`` prints the table in
``docs/configuration.md`` (generated from these classes; a test keeps it fresh).

Settings reach the processes the toolkit starts explicitly: :func:`Settings.environ` is the environment a
child needs to see the same settings (``mlplab autograde`` passes it to each ``mlplab grade`` job).

A few variables are not settings of the toolkit but of the course or the student side (the course root,
the data folder, quick mode, nbgrader's database and exchange); :data:`ENVIRONMENT` lists where each is
read, so that this module documents every ``MLPLAB_*`` name.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Float, Int, TraitError, Unicode
from traitlets.config import Config, LoggingConfigurable, PyFileConfigLoader

log = logging.getLogger("mlplab.config")

CONFIG_FILE = "nbgrader_config.py"


def _env(trait: Any, var: str) -> Any:
    """Mark ``trait`` as configurable and overridable by the environment variable ``var``."""
    return trait.tag(config=True, env=var)


class Sandbox(LoggingConfigurable):
    """Resource budget of one submission's sandbox (docs/threat-model.md)."""

    memory_mb = _env(Int(2048, min=1, help="memory of one submission, all its processes, tmpfs and page cache "
                                           "together (a memory cgroup), MB"), "MLPLAB_MEMORY_MB")
    scratch_mb = _env(Int(256, min=1, help="size of each sandbox's writable /scratch tmpfs, MB"), "MLPLAB_SCRATCH_MB")
    tmp_mb = _env(Int(64, min=1, help="size of each sandbox's /tmp and /dev/shm, MB"), "MLPLAB_TMP_MB")
    address_space_mb = _env(Int(4096, min=1, help="address-space rlimit of each worker process, MB"),
                            "MLPLAB_ADDRESS_SPACE_MB")
    cpu_seconds = _env(Int(120, min=1, help="CPU-time rlimit of each worker process, s"), "MLPLAB_CPU_SECONDS")
    file_size_mb = _env(Int(64, min=1, help="largest file a worker may write, MB"), "MLPLAB_FILE_SIZE_MB")
    open_files = _env(Int(256, min=1, help="open-file rlimit of each worker process"), "MLPLAB_OPEN_FILES")
    processes = _env(Int(64, min=1, help="processes of one submission's sandbox (also passed to its zygote, "
                                         "which caps the workers it forks)"), "MLPLAB_PROCESSES")
    call_timeout_s = _env(Float(10.0, min=0.001, help="wall time of one call into student code, s"),
                          "MLPLAB_CALL_TIMEOUT_S")
    load_timeout_s = _env(Float(15.0, min=0.001, help="wall time to load one cell of a submission, s"),
                          "MLPLAB_LOAD_TIMEOUT_S")
    load_budget_s = _env(Float(45.0, min=0.001, help="wall time to load all cells of one worker, s"),
                         "MLPLAB_LOAD_BUDGET_S")
    preload_timeout_s = _env(Float(180.0, min=0.001, help="wall time of a zygote's library preload, s"),
                             "MLPLAB_PRELOAD_TIMEOUT_S")
    task_timeout_s = _env(Float(60.0, min=0.001, help="wall time of one task's graders, s"), "MLPLAB_TASK_TIMEOUT_S")
    submission_timeout_s = _env(Float(600.0, min=0.001, help="wall time of one whole submission, s"),
                                "MLPLAB_SUBMISSION_TIMEOUT_S")
    slot = _env(Int(0, min=0, help="sandbox slot of this process: the uid range its workers run as (set per job "
                                   "by `mlplab autograde` and the service)"), "MLPLAB_SANDBOX_SLOT")


class Autograde(LoggingConfigurable):
    """`mlplab grade` and `mlplab autograde`: jobs, seeds, diagnostics."""

    job_timeout_s = _env(Float(900.0, min=1, help="wall time of one submission's grading job before it is stopped, "
                                                  "s"), "MLPLAB_JOB_TIMEOUT_S")
    scheduler_timeout_s = _env(Float(5.0, min=0.001, help="time to connect to a dask scheduler (--backend dask), s"),
                               "MLPLAB_SCHEDULER_TIMEOUT_S")
    slot_base = _env(Int(0, min=0, help="first sandbox slot of this run's jobs (separate uids for concurrent runs "
                                        "on one machine)"), "MLPLAB_SLOT_BASE")
    grader_seed = _env(Int(0, min=0, help="seed of the graders' random inputs (`mlplab grade --seed`)"),
                       "MLPLAB_GRADER_SEED")
    grader_debug = _env(Bool(False, help="print grader tracebacks to stderr (maintainers)"), "MLPLAB_GRADER_DEBUG")
    challenge_split = _env(Unicode("test_batch:5000-9999", help="the hidden split of the optional task "
                                   "`fc_net_challenge`: CIFAR-10 batch file and first-last image (inclusive); a "
                                   "batch holding fewer images (a subset) uses the second half of those present"),
                           "MLPLAB_CHALLENGE_SPLIT")
    challenge_threshold = _env(Float(0.50, min=0.0, max=1.0, help="accuracy on the hidden split for full marks in "
                                     "`fc_net_challenge` (60 % of it earns half)"), "MLPLAB_CHALLENGE_THRESHOLD")


class GradingService(LoggingConfigurable):
    """`mlplab serve`: feedback on submit (docs/grading-service.md)."""

    attempts_per_window = Int(3, min=1, help="graded attempts per student and assignment ...").tag(config=True)
    window_hours = Float(24.0, min=0.001, help="... in any window of this many hours").tag(config=True)
    counts = Enum(["last_on_time", "best"], default_value="last_on_time",
                  help="the attempt written to the gradebook").tag(config=True)
    before_deadline = Enum(["messages", "score"], default_value="messages",
                           help="what a student sees per task before the deadline").tag(config=True)
    after_deadline = Enum(["messages", "score"], default_value="messages",
                          help="... and after it").tag(config=True)
    instructor_group = Unicode("instructors", help="hub group whose members see every student").tag(config=True)
    workers = Int(2, min=1, help="submissions graded at once").tag(config=True)


CLASSES: tuple[type[LoggingConfigurable], ...] = (Sandbox, Autograde, GradingService)

# Variables that are not toolkit settings: the course, the student side, nbgrader's own config.
ENVIRONMENT: dict[str, str] = {
    "MLPLAB_COURSE_ROOT": "the course directory (`mlplab --course DIR` sets it for the command and its jobs); "
                          "read by mlplab/coursedir.py",
    "MLPLAB_DATA": "folder with mnist/ and cifar-10-batches-py/; read by the notebooks' labutils/data.py",
    "MLPLAB_QUICK": "1: experiments shrink (autograding, CI); read by the notebooks' labutils",
    "MLPLAB_DB_URL": "nbgrader's gradebook database; read by the course's nbgrader_config.py",
    "MLPLAB_EXCHANGE": "nbgrader's exchange folder; read by the course's nbgrader_config.py",
    "MLPLAB_CHP": "configurable-http-proxy executable for `mlplab hub --demo`; read by mlplab/service/hub.py",
    "MLPLAB_TEST_PG_URL": "PostgreSQL server of the test suite (tests only)",
    "MLPLAB_PROCESS_PER_SUBMISSION": "1: `mlplab autograde` and the service start one `mlplab grade` process per "
                                     "submission instead of a persistent grading process per job slot (the "
                                     "previous way, for comparison in the benchmarks); read by mlplab/autograde.py",
}

RESOLVED = "MLPLAB_SETTINGS_RESOLVED"

# Internal variables the toolkit sets for processes it starts (never set them by hand).
INTERNAL: dict[str, str] = {
    RESOLVED: "set for jobs whose settings the parent resolved (they do not read nbgrader_config.py again)",
    "MLPLAB_IN_SANDBOX": "set inside a sandbox",
    "MLPLAB_WORKER_NPROC": "Sandbox.processes, passed to the sandbox's zygote",
    "MLPLAB_BUDGET_WARNED": "set by `mlplab autograde` for its jobs once it has warned about the memory budget",
}


class ConfigError(ValueError):
    """A setting with a value the toolkit cannot use; the message is one sentence naming it."""


@dataclass
class Settings:
    """The effective settings: one instance of each class, and where each value came from."""

    sandbox: Sandbox
    autograde: Autograde
    service: GradingService
    sources: dict[str, str] = field(default_factory=dict)  # "Sandbox.memory_mb" -> "default" | file | $VAR | option

    def of(self, cls: type) -> LoggingConfigurable:
        return {Sandbox: self.sandbox, Autograde: self.autograde, GradingService: self.service}[cls]

    def rows(self) -> list[tuple[str, Any, str]]:
        """``(key, value, source)`` of every setting, in class order."""
        rows = []
        for cls in CLASSES:
            instance = self.of(cls)
            for name in configurable_traits(cls):
                key = f"{cls.__name__}.{name}"
                rows.append((key, getattr(instance, name), self.sources.get(key, "default")))
        return rows

    def grade_inputs(self) -> tuple[tuple[str, bytes], ...]:
        """The settings a grade depends on, as ``extra`` for :func:`mlplab.coursedir.content_hash`: the graders'
        seed and the optional challenge's hidden split and threshold. Result caches key on them, so changing
        one regrades. The sandbox budget and the timeouts are left out: raising them regrades nothing by itself
        (`mlplab autograde --force` does)."""
        a = self.autograde
        text = f"grader_seed={a.grader_seed}\nchallenge_split={a.challenge_split}\n" \
               f"challenge_threshold={a.challenge_threshold!r}"
        return (("settings", text.encode()),)

    def environ(self) -> dict[str, str]:
        """The environment variables that give a child process these same settings (those not at default),
        and :data:`RESOLVED`, which tells the child not to read ``nbgrader_config.py`` again (``mlplab
        grade`` runs once per submission; reading the course file imports nbgrader, about a second)."""
        env = {RESOLVED: "1"}
        for cls in CLASSES:
            instance = self.of(cls)
            for name, trait in configurable_traits(cls).items():
                var = trait.metadata.get("env")
                if var and self.sources.get(f"{cls.__name__}.{name}", "default") != "default":
                    value = getattr(instance, name)
                    env[var] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env


def configurable_traits(cls: type) -> dict[str, Any]:
    """The configurable traits of ``cls`` in definition order."""
    traits = cls.class_traits(config=True)
    own = [name for name in vars(cls) if name in traits]
    return {name: traits[name] for name in own}


def course_config(root: Path | None) -> Config:
    """The traitlets ``Config`` of the course's ``nbgrader_config.py`` (empty without a course)."""
    if root is None or not (Path(root) / CONFIG_FILE).is_file():
        return Config()
    loader = PyFileConfigLoader(CONFIG_FILE, path=str(root))
    return loader.load_config()


def _parse(cls: type, name: str, trait: Any, text: str, origin: str) -> Any:
    try:
        value = trait.from_string(text.strip())
        trait._validate(cls(), value)  # range and choices, e.g. min=1
    except (TraitError, ValueError) as exc:
        raise ConfigError(f"{origin}={text!r} is not a valid {cls.__name__}.{name}: {_first_line(exc)}") from None
    return value


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _warn_misspelt_sections(config: Config, origin: str) -> None:
    ours = [cls.__name__ for cls in CLASSES]
    for section in config:
        if section in ours or not section[:1].isupper():
            continue
        close = difflib.get_close_matches(section, ours, n=1, cutoff=0.8)
        if close:
            log.warning("%s: section `%s` is not a setting of MLP Lab or nbgrader it knows; did you mean `%s`?",
                        origin, section, close[0])


# Sections whose name nbgrader uses too: `c.Autograde.exclude_overwriting` is nbgrader's, `job_timeout_s` ours.
SHARED_WITH_NBGRADER = ("Autograde",)


def _nbgraders_own(section: str, name: str, traits: Mapping[str, Any]) -> bool:
    """True for a key of a section shared with nbgrader that is not ours and not a near-miss of one of ours
    (``c.Autograde.exclude_overwriting``): left to nbgrader, without a warning that it is unknown."""
    return (section in SHARED_WITH_NBGRADER and name not in traits
            and not difflib.get_close_matches(name, list(traits), n=1, cutoff=0.8))


def load(
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The effective settings of the course ``root``: defaults < nbgrader_config.py < environment < ``overrides``.

    ``overrides`` maps ``"Sandbox.memory_mb"`` to a command-line value (None values are ignored).
    Raises :class:`ConfigError` (one sentence) for a value that is out of range or of the wrong type.
    """
    environ = os.environ if environ is None else environ
    file_config = Config() if environ.get(RESOLVED) == "1" else course_config(root)
    origin = str(Path(root) / CONFIG_FILE) if root is not None else CONFIG_FILE
    _warn_misspelt_sections(file_config, origin)
    merged = Config()
    sources: dict[str, str] = {}
    for cls in CLASSES:
        section = cls.__name__
        traits = configurable_traits(cls)
        file_section = file_config.get(section, {}) if section in file_config else {}
        file_section = {name: value for name, value in file_section.items()
                        if not _nbgraders_own(section, name, traits)}
        for name in file_section:
            if name in traits:
                sources[f"{section}.{name}"] = CONFIG_FILE
        merged[section] = Config(file_section)
        for name, trait in traits.items():
            key = f"{section}.{name}"
            var = trait.metadata.get("env")
            if var and environ.get(var, "").strip():
                merged[section][name] = _parse(cls, name, trait, environ[var], f"${var}")
                sources[key] = f"${var}"
            if overrides and overrides.get(key) is not None:
                merged[section][name] = overrides[key]
                sources[key] = "command line"
    instances = {}
    for cls in CLASSES:
        try:
            instances[cls] = cls(config=merged, log=log)
        except TraitError as exc:
            raise ConfigError(f"{origin}: {_first_line(exc)}") from None
    return Settings(instances[Sandbox], instances[Autograde], instances[GradingService], sources)


def settings_section(cls: type[LoggingConfigurable], section: Mapping[str, Any]) -> Any:
    """An instance of ``cls`` from one config section (``{"workers": 4}``; text values parsed as the trait's
    type); unknown keys warn. Raises :class:`ConfigError` (one sentence) for a value it cannot use."""
    traits = configurable_traits(cls)
    values = {}
    for name, value in section.items():
        trait = traits.get(name)
        if trait is not None and isinstance(value, str) and not isinstance(trait, Unicode | Enum):
            value = _parse(cls, name, trait, value, f"c.{cls.__name__}.{name}")
        values[name] = value
    try:
        return cls(config=Config({cls.__name__: values}), log=log)
    except TraitError as exc:
        raise ConfigError(f"c.{cls.__name__}: {_first_line(exc)}") from None


def markdown_table() -> str:
    """The reference table of ``docs/configuration.md``, generated from the classes."""
    lines = [
        "<!-- generated by `mlplab config --markdown` from mlplab/config.py; do not edit by hand -->",
        "# Configuration",
        "",
        "Every setting of the toolkit, its default, and the environment variable that overrides it. Later sources",
        "win: the default, then the course's `nbgrader_config.py` (`c.Sandbox.memory_mb = 4096`), then the",
        "environment variable, then a command-line option. `mlplab config` prints the effective value of each",
        "setting in the course you stand in and where it came from; a misspelt key is a warning that names the",
        "closest setting.",
        "",
    ]
    for cls in CLASSES:
        lines += [f"## `{cls.__name__}`", "", (cls.__doc__ or "").strip(), "",
                  "| setting | default | environment | what it is |", "|---|---|---|---|"]
        for name, trait in configurable_traits(cls).items():
            default = trait.default_value
            var = trait.metadata.get("env")
            env = f"`{var}`" if var else ""
            choices = f" (one of {', '.join(repr(v) for v in trait.values)})" if isinstance(trait, Enum) else ""
            lines.append(f"| `c.{cls.__name__}.{name}` | `{default!r}` | {env} | {trait.help}{choices} |")
        lines.append("")
    lines += ["## Other environment variables", "", "| variable | what it is |", "|---|---|"]
    lines += [f"| `{var}` | {what} |" for var, what in ENVIRONMENT.items()]
    lines += ["", "Set by the toolkit for processes it starts (not by hand): "
              + ", ".join(f"`{var}` ({what})" for var, what in INTERNAL.items()) + ".", ""]
    return "\n".join(lines)


def text_table(settings: Settings) -> str:
    """What ``mlplab config`` prints: every setting, its value and its source."""
    rows = [(key, repr(value), source) for key, value, source in settings.rows()]
    width = max(len(key) for key, _, _ in rows)
    vwidth = max(len(value) for _, value, _ in rows)
    return "\n".join(f"{key:<{width}}  {value:<{vwidth}}  {source}" for key, value, source in rows)


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set the environment variables ``values`` (None: unset) in ``os.environ`` inside the ``with`` block;
    afterwards each of them is back as it was (set to its old value, or unset), whatever happened inside.

    Variables the block itself changes that are not in ``values`` are left alone.
    """
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
