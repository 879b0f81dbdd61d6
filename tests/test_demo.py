"""`make demo` end to end: the simulated class through release, exchange, sandboxed autograde, feedback,
export and the class report, with every student scored the way their profile says."""

from __future__ import annotations

import csv

import pytest

from mlplab.coursedir import tasks
from mlplab.demo import class_roster, run_demo

from .helpers.optional import assert_missing_file_scores_zero, submitted_file_tasks
from .helpers.slots import AUTOGRADE_SLOTS, slot

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]


@pytest.fixture(scope="session")  # once per xdist worker, even if other modules run in between
def demo(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # session fixtures run before the per-test slot fixture
        mp.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS + 20)))  # this xdist worker's sandbox uids
        return run_demo(tmp_path_factory.mktemp("demo"), jobs=2, progress=False)


def lost(result: dict) -> set[str]:
    """Tasks that lost points, apart from the optional challenge (no demo student submits its trained model)."""
    optional = set(submitted_file_tasks())
    return {t for t, info in result["tasks"].items() if info["score"] < info["max_score"] and t not in optional}


def notebook_tasks(*stems: str) -> set[str]:
    return {t for t, task in tasks().items() if task.notebook in stems}


def test_every_student_of_the_roster_is_graded(demo):
    assert set(demo["results"]) == {s.id for s in class_roster()} and len(demo["results"]) >= 12


def test_reference_and_correct_variants_get_full_marks(demo):
    for student in ("ada", "hana", "kai"):
        assert lost(demo["results"][student]) == set(), student


def test_the_optional_challenge_without_its_file_scores_zero_with_a_message(demo):
    for student in ("ada", "kai", "emil"):  # notebook 04 submitted, fc_net_challenge.npz not
        assert_missing_file_scores_zero(demo["results"][student])
        assert not demo["results"][student]["errors"], student


def test_blank_and_partial_students_get_exactly_their_finished_notebooks(demo):
    all_tasks = set(tasks()) - set(submitted_file_tasks())
    assert lost(demo["results"]["bruno"]) == all_tasks
    assert lost(demo["results"]["chen"]) == all_tasks - notebook_tasks("01_layers")
    assert lost(demo["results"]["dara"]) == all_tasks - notebook_tasks("01_layers", "02_normalization")


def test_buggy_students_lose_points_only_in_the_buggy_tasks(demo):
    assert lost(demo["results"]["emil"]) == {"affine_backward", "softmax_loss"}
    assert lost(demo["results"]["fatima"]) == {"relu_backward", "dropout_forward"}
    assert lost(demo["results"]["gus"]) == {"layernorm_backward"}


def test_cheater_gains_nothing(demo):
    ivan = demo["results"]["ivan"]
    assert ivan["tasks"]["batchnorm_forward"]["score"] == 0
    assert lost(ivan) <= {"batchnorm_forward", "batchnorm_backward"}


def test_broken_hanging_and_reorganised_submissions_are_graded_with_clear_notes(demo):
    jo, lena, milo = (demo["results"][s] for s in ("jo", "lena", "milo"))
    assert lost(jo) == notebook_tasks("02_normalization")
    assert any("02_normalization.ipynb: invalid notebook JSON" in e for e in jo["errors"])
    # relu_forward kills its process; relu_backward's graders then take the documented cache (x) and
    # grade the student's correct relu_backward at full marks
    assert lost(lena) == {"affine_backward", "relu_forward", "softmax_loss"}
    assert any("took longer than" in e for e in lena["errors"])
    assert lost(milo) == {"softmax_loss"}
    assert "keep the function and class names" in milo["tasks"]["softmax_loss"]["messages"][0]


def test_late_student_gets_the_penalty_in_the_gradebook_and_export(demo):
    assert demo["totals"]["kai"] < demo["results"]["kai"]["score"]
    assert demo["totals"]["ada"] == demo["results"]["ada"]["score"]
    with open(demo["grades_csv"]) as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert set(rows) == set(demo["results"])
    assert float(rows["kai"]["late_submission_penalty"]) > 0


def test_feedback_class_report_and_paths_are_written(demo):
    from pathlib import Path

    feedback = Path(demo["feedback"])
    for student in demo["results"]:
        assert (feedback / student / "mlp" / "01_layers.html").is_file(), student
    html = (feedback / "emil" / "mlp" / "01_layers.html").read_text()
    assert "affine_backward:" in html and "grade_task" not in html
    report = Path(demo["report_html"]).read_text()
    assert "Pass rate per task" in report and "ivan" in report
    assert Path(demo["report_png"]).stat().st_size > 10_000
    assert "ada" in demo["table"]


def test_simulated_students_leave_the_real_student_cache_alone(demo):
    from pathlib import Path

    out = Path(demo["course"]).parent
    assert any((out / "student-cache").rglob("*")), "the demo's students keep their records in demo output"
    real = Path.home() / ".local" / "share" / "jupyter" / "nbgrader_cache" / "mlp-lab"
    started = demo["started_at"]
    assert not real.exists() or all(p.stat().st_mtime < started for p in real.rglob("*"))


def test_demo_grades_export_to_canvas_and_moodle_and_the_similarity_report_reads_the_class(demo, tmp_path):
    """The demo class through `mlplab export` (both LMS layouts) and `mlplab similarity`."""
    import json
    from pathlib import Path

    from .helpers.cli import run_mlplab

    env = {"MLPLAB_COURSE_ROOT": demo["course"]}
    for fmt in ("canvas", "moodle"):
        proc = run_mlplab("export", "--format", fmt, str(tmp_path / f"{fmt}.csv"), env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "canvas.csv", newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mlp"]
    assert canvas[1][0] == "    Points Possible" and float(canvas[1][5]) > 0
    assert {row[2]: float(row[5]) for row in canvas[2:]} == pytest.approx(demo["totals"], abs=0.005)
    with open(tmp_path / "moodle.csv", newline="") as fh:
        moodle = {row["Username"]: row for row in csv.DictReader(fh)}
    assert float(moodle["kai"]["mlp"]) == pytest.approx(demo["totals"]["kai"], abs=0.005)  # late penalty applied
    assert moodle["ada"]["Email address"] == "ada@example.edu"

    proc = run_mlplab("similarity", "mlp", "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert "jo: 02_normalization.ipynb" in proc.stderr  # the truncated notebook is reported and skipped
    scores = {frozenset(p["students"]): p["score"] for p in result["pairs"]}
    assert scores[frozenset({"ada", "kai"})] == pytest.approx(1.0)  # both submitted the reference
    assert not any("bruno" in pair for pair in scores)  # the unchanged release never matches anything
    assert Path(result["report"]).is_file()
