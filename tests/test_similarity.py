"""`mlplab similarity`: planted, disguised copies rank above independent solutions; the template never
counts; malformed notebooks are reported and skipped; student text is escaped; submissions are only read."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pytest

from mlplab.integrity.similarity import Settings, boilerplate_hashes, boilerplate_sources, fingerprint
from mlplab.integrity.synthetic import rename_variables, reorder_functions, restyle_comments, write_class

from .helpers.cli import run_mlplab
from .helpers.paths import RELEASE, ROOT
from .helpers.similarity_class import STEM, build_class, independent_answers

HOSTILE = '''
def affine_forward(x, w, b):
    # </pre><script>alert("owned")</script>
    label = "<img src=x onerror=alert(1)>"
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b, label)
'''


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """A small course: the planted-copy class of 01_layers, two blank submissions, a truncated notebook,
    and two students sharing code that carries HTML; `mlplab similarity mlp --json --threshold 0` run once."""
    root = tmp_path_factory.mktemp("similarity-course")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "release", root / "release", ignore=shutil.ignore_patterns("__pycache__"))
    submitted = root / "submitted"
    planted = build_class(ROOT, RELEASE, submitted, seed=14)
    write_class(RELEASE, submitted, "mlp", {"blank_a": {STEM: {}}, "blank_b": {STEM: {}}})
    hostile = {STEM: {"affine_forward_solution": HOSTILE}}
    write_class(RELEASE, submitted, "mlp", {"hostile": hostile, "hostile_twin": hostile})
    planted.add(frozenset({"hostile", "hostile_twin"}))
    write_class(RELEASE, submitted, "mlp", {"truncated": {STEM: {}}})
    hostile_nesting = {"relu_forward_solution": "x = " + "-" * 200_000 + "1\n"}  # ast.parse: MemoryError
    write_class(RELEASE, submitted, "mlp", {"nested": {STEM: hostile_nesting}})
    broken = submitted / "truncated" / "mlp" / f"{STEM}.ipynb"
    broken.write_bytes(broken.read_bytes()[:5000])
    before = _digest(submitted)
    proc = run_mlplab("similarity", "mlp", "--json", "--threshold", "0", env={"MLPLAB_COURSE_ROOT": str(root)})
    return {"root": root, "planted": planted, "proc": proc, "before": before, "submitted": submitted}


def _result(course: dict) -> dict:
    proc = course["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one JSON line, got: {proc.stdout[:2000]}"
    return json.loads(lines[0])


def test_json_follows_the_contract(course):
    result = _result(course)
    assert set(result) == {"pairs", "report"}
    assert Path(result["report"]).is_file()
    scores = [p["score"] for p in result["pairs"]]
    assert scores == sorted(scores, reverse=True), "pairs must be sorted by score, highest first"
    for pair in result["pairs"]:
        assert set(pair) == {"students", "score", "tasks"}
        assert len(pair["students"]) == 2 and pair["students"][0] != pair["students"][1]
        assert 0.0 <= pair["score"] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in pair["tasks"].values())
        assert set(pair["tasks"]) <= {
            "affine_forward",
            "affine_backward",
            "relu_forward",
            "relu_backward",
            "softmax_loss",
        }


def test_every_planted_copy_ranks_above_every_independent_pair(course):
    pairs = _result(course)["pairs"]
    planted = course["planted"]
    planted_scores = {frozenset(p["students"]): p["score"] for p in pairs if frozenset(p["students"]) in planted}
    assert set(planted_scores) == planted, f"planted pairs missing from the output: {planted - set(planted_scores)}"
    independent = [p for p in pairs if frozenset(p["students"]) not in planted]
    worst_planted = min(planted_scores.values())
    best_independent = max(independent, key=lambda p: p["score"])
    assert worst_planted > best_independent["score"], (
        f"a planted copy scores {worst_planted:.3f}, not above the independent pair "
        f"{best_independent['students']} at {best_independent['score']:.3f}"
    )
    ranks = [i for i, p in enumerate(pairs) if frozenset(p["students"]) in planted]
    assert ranks == list(range(len(planted)))


def test_one_copied_task_out_of_five_shows_in_that_task(course):
    pairs = _result(course)["pairs"]
    (pair,) = [p for p in pairs if set(p["students"]) == {"copy_one_task", "indep4"}]
    assert pair["tasks"]["softmax_loss"] > 0.9
    others = [v for t, v in pair["tasks"].items() if t != "softmax_loss"]
    assert max(others) < 0.5, pair


def test_template_and_docstrings_never_count(course):
    pairs = _result(course)["pairs"]
    assert not any({"blank_a", "blank_b"} & set(p["students"]) for p in pairs), (
        "students who submitted the release unchanged must not appear: the template is boilerplate"
    )
    # the template's fingerprints are all boilerplate: nothing of a released cell survives subtraction
    settings = Settings()
    boilerplate = boilerplate_hashes(boilerplate_sources(RELEASE), settings)
    from mlplab.integrity.synthetic import release_templates

    for template in release_templates(RELEASE, STEM).values():
        assert set(fingerprint(template, settings)[2]) <= boilerplate


def test_malformed_notebook_is_reported_and_skipped(course):
    result = _result(course)
    assert "truncated" in course["proc"].stderr and "invalid notebook JSON" in course["proc"].stderr
    assert not any("truncated" in p["students"] for p in result["pairs"])
    html = Path(result["report"]).read_text()
    assert "Skipped notebooks" in html and "truncated" in html


def test_oversized_answer_is_reported_and_the_batch_goes_on(course):
    stderr = course["proc"].stderr
    assert "nested: 01_layers.ipynb: the answer to relu_forward is longer than 50,000 characters" in stderr
    assert _result(course)["pairs"], "the other submissions are still compared"


def test_report_escapes_student_text_and_highlights_matches(course):
    html = Path(_result(course)["report"]).read_text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html  # autoescaped (Jinja2)
    assert "<mark>" in html and "copy_one_task" in html
    assert "reason to look, not a verdict" in html


def test_submissions_are_only_read(course):
    _result(course)
    assert _digest(course["submitted"]) == course["before"]


def test_disguises_change_the_text_but_not_the_tokens():
    """The copiers' disguises are real: the raw text differs, copydetect's filtered tokens do not."""
    rng = random.Random(3)
    source = independent_answers(ROOT)["indep3"]["softmax_loss_solution"]
    settings = Settings()
    for disguised in (rename_variables(source, rng), restyle_comments(source, rng), reorder_functions(source)):
        assert disguised != source
        compile(disguised, "answer", "exec")
        original, changed = fingerprint(source, settings)[2], fingerprint(disguised, settings)[2]
        assert len(set(original) & set(changed)) >= 0.8 * len(original)


def test_bad_input_gets_one_clear_sentence(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "release", tmp_path / "release", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"MLPLAB_COURSE_ROOT": str(tmp_path)}
    for args, expected in (
        (["similarity", "nope", "--json"], "unknown assignment 'nope'"),
        (["similarity", "mlp", "--json"], "no submissions of 'mlp'"),
        (["similarity", "mlp", "--threshold", "2"], "--threshold must be between 0 and 1"),
    ):
        proc = run_mlplab(*args, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout == ""
