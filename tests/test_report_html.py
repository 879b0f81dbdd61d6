"""HTML reports written to disk (class report, similarity report) escape student text: autoescaped templates."""

from __future__ import annotations

import re

HOSTILE = "<script>alert('x')</script>"


def _results(student: str) -> dict[str, dict]:
    tasks = {"affine_forward": {"score": 1.0, "max_score": 1.0}, "relu_forward": {"score": 0.0, "max_score": 1.0}}
    return {
        student: {"score": 1.0, "max_score": 2.0, "tasks": tasks, "errors": [f"relu_forward: {HOSTILE}"]},
        "ada": {"score": 2.0, "max_score": 2.0, "tasks": {k: {"score": 1.0, "max_score": 1.0} for k in tasks}},
    }


def test_class_report_escapes_student_names_profiles_and_messages(tmp_path):
    from mlplab.course.report import write_report

    student = f'eve"{HOSTILE}'
    page = write_report(_results(student), {"ada": 1.5}, {student: HOSTILE}, tmp_path)["html"].read_text()
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 3  # name, profile, message
    assert "eve&#34;&lt;script&gt;" in page


def test_class_report_lists_every_student_and_task_rate(tmp_path):
    from mlplab.course.report import write_report

    page = write_report(_results("bob"), {"ada": 1.5}, {"ada": "steady"}, tmp_path)["html"].read_text()
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert ("ada", "steady", "2.00", "1.50") in rows and ("bob", "", "1.00", "1.00") in rows
    assert "<tr><td>affine_forward</td><td>100%</td></tr>" in page
    assert "<tr><td>relu_forward</td><td>50%</td></tr>" in page
    assert "(2 submissions)" in page and "data:image/png;base64," in page


HOSTILE_ANSWER = """
def affine_forward(x, w, b):
    # </pre><script>alert("owned")</script>
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)
"""


def test_similarity_report_escapes_student_names_and_code_and_highlights_matches(tmp_path):
    from mlplab.coursedir import tasks
    from mlplab.integrity.report_html import render
    from mlplab.integrity.similarity import analyse
    from mlplab.integrity.synthetic import write_class

    from .helpers.paths import RELEASE, ROOT

    submitted = tmp_path / "submitted"
    hostile = {"01_layers": {"affine_forward_solution": HOSTILE_ANSWER}}
    write_class(RELEASE, submitted, "mlp", {"eve<script>": hostile, "mallory": hostile})
    result = analyse(submitted, RELEASE, "mlp", list(tasks(ROOT)), None, 0.0, False)
    page = render(result, 0.0)
    assert "<script" not in page and "</pre><script" not in page
    assert "# &lt;/pre&gt;&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in page  # the code, as text
    assert "eve&lt;script&gt;" in page and 'id="pair-eve_script___mallory"' in page
    assert page.count("<pre>") == 2 and "<mark>" in page  # the pair side by side, matched code highlighted
