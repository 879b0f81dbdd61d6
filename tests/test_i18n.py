"""The Chinese edition: one source of truth (the English notebooks + the catalogue i18n/zh/)."""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest

from mlplab.course import i18n, i18n_code
from mlplab.course.generate import scratch_course
from mlplab.coursedir import source_dir

from .helpers import english_left
from .helpers.cli import grade_json
from .helpers.optional import assert_missing_file_scores_zero, optional_points
from .helpers.paths import RELEASE, ROOT, SOURCE, source_notebooks

CJK = re.compile(r"[\u4e00-\u9fff]")
# pieces the translation keeps in English on purpose: keys the code looks up, lint pragmas, a plain axis name
KEPT = {"MLP RGB", "CNN RGB", "MLP gray", "CNN gray", "noqa: F401", "epoch"}  # notebooks only


@pytest.fixture(scope="session")
def edition(tmp_path_factory):
    """release/ and solutions/ of the zh edition, generated with nbgrader into a scratch folder."""
    out = tmp_path_factory.mktemp("zh")
    i18n.generate_edition("zh", ROOT, out=out)
    return out


def test_every_markdown_cell_file_and_message_has_a_fresh_translation():
    problems = i18n.check_catalogue("zh", ROOT)
    assert problems == [], "\n".join(str(p) for p in problems[:20]) + "\nrun `mlplab i18n check --lang zh`"
    catalogue = i18n.load_catalogue("zh", ROOT)
    for notebook in source_notebooks():
        for cell_id, _ in i18n.markdown_cells(notebook):
            assert CJK.search(catalogue[(notebook.stem, "cell", cell_id)].text), f"{notebook.stem}/{cell_id}"
    messages = {**i18n.visible_check_messages(ROOT), **i18n.grader_messages(ROOT)}
    assert len(messages) > 150  # visible checks and graders both contribute
    assert set(messages) <= {key for (_, kind, key) in catalogue if kind == "message"}


def _course_copy(tmp_path):
    course = scratch_course(tmp_path / "course", ROOT)
    shutil.copytree(ROOT / "i18n", course / "i18n")
    shutil.copytree(ROOT / "grader_tests", course / "grader_tests")
    return course


@pytest.mark.slow
def test_a_changed_source_cell_makes_its_translation_stale_and_blocks_generation(tmp_path):
    course = _course_copy(tmp_path)
    notebook = source_dir(course) / "02_normalization.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += "\nOne more sentence."
    nbformat.write(nb, notebook)

    problems = i18n.check_catalogue("zh", course)
    assert [(p.where, p.kind) for p in problems] == [(f"02_normalization/{cell.id}", "stale")]
    with pytest.raises(i18n.CatalogueError, match="stale"):
        i18n.translated_source("zh", tmp_path / "out", course)

    # `mlplab i18n stub` appends the English text as a TODO entry, which still counts as missing
    assert i18n.stub_missing("zh", course) == 1
    assert [p.kind for p in i18n.check_catalogue("zh", course)] == ["missing"]


def test_a_new_message_without_translation_is_reported(tmp_path):
    course = _course_copy(tmp_path)
    grader = course / "grader_tests" / "test_layers.py"
    grader.write_text(grader.read_text() + '\n\ndef _extra(x):\n    expect(x, "a brand-new teaching message")\n')
    problems = i18n.check_catalogue("zh", course)
    assert [p.kind for p in problems] == ["missing"] and problems[0].where.startswith("messages/")


def test_translations_keep_the_nbgrader_answer_markers():
    catalogue = i18n.load_catalogue("zh", ROOT)
    for notebook in source_notebooks():
        for cell_id, english in i18n.markdown_cells(notebook):
            text = catalogue[(notebook.stem, "cell", cell_id)].text
            for marker in i18n.SOLUTION_MARKERS:
                assert english.count(marker) == text.count(marker), f"{notebook.stem}/{cell_id}: {marker}"


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_zh_code_differs_from_english_only_in_comments_docstrings_and_strings(edition, folder):
    english_dir, chinese_dir = ROOT / folder / "mlp", edition / folder / i18n.edition_name("zh")
    assert sorted(p.name for p in chinese_dir.glob("*.ipynb")) == sorted(p.name for p in english_dir.glob("*.ipynb"))
    for english_path in sorted(english_dir.glob("*.ipynb")):
        en = nbformat.read(english_path, as_version=4)
        zh = nbformat.read(chinese_dir / english_path.name, as_version=4)
        assert [c.id for c in zh.cells] == [c.id for c in en.cells]
        for a, b in zip(en.cells, zh.cells, strict=True):
            for cell in (a, b):  # nbgrader's checksum covers the (translated) text and comments
                cell.metadata.get("nbgrader", {}).pop("checksum", None)
            assert a.metadata == b.metadata, f"{english_path.name}/{a.id}: nbgrader metadata differs"
            if a.cell_type == "code":
                # the same tree with every string blanked and the same tokens without comments and strings
                difference = i18n_code.code_difference(a.source, b.source)
                assert difference is None, f"{english_path.name}/{a.id}: {difference}"
                prose = i18n_code.pieces(a.source)
                if prose:  # what a student reads in the cell is Chinese
                    translated = i18n_code.pieces(b.source)
                    assert all(CJK.search(p.text) or p.text.strip("\"'# ") in KEPT for p in translated), (
                        f"{english_path.name}/{a.id}: "
                        f"{[p.text for p in translated if not CJK.search(p.text)][:3]}")
            else:
                assert CJK.search(b.source), f"{english_path.name}/{a.id} is not translated"
        assert zh.metadata["mlplab"] == {"lang": "zh"}
    if folder == "release":  # nbgrader's placeholders come from the catalogue
        stubs = [c.source for p in sorted(chinese_dir.glob("*.ipynb")) for c in nbformat.read(p, 4).cells]
        assert any("# 请在此处编写代码\nraise NotImplementedError()" in s for s in stubs)
        assert any("请在此处作答" in s for s in stubs)
        assert not any("YOUR CODE HERE" in s or "YOUR ANSWER HERE" in s for s in stubs)
    plotting = (chinese_dir / "labutils" / "plotting.py").read_text()
    assert 'ax.set_ylabel("损失")' in plotting and '"""Small matplotlib helpers' in plotting  # labels, not docs
    guide = (chinese_dir / "running-05-without-a-gpu.md").read_text()
    assert "GPU" in guide and CJK.search(guide)
    table = json.loads((chinese_dir / "labutils" / "messages.json").read_text())["messages"]
    assert table and not (english_dir / "labutils" / "messages.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_the_zh_edition_reads_chinese_from_the_first_cell_to_the_last(edition, folder):
    """No English left in what a student reads: markdown (formulas' \\text included), comments, docstrings,
    printed and plotted strings (f-string fields included), student files, what labutils prints
    (tests/helpers/english_left.py; its allowlist holds code names, kept terms, proper names and units only)."""
    leftovers = english_left.scan(edition / folder / i18n.edition_name("zh"))
    assert leftovers == [], f"{len(leftovers)} English leftovers:\n" + "\n".join(map(str, leftovers[:30]))


def test_the_english_leftover_scanner_finds_english_and_lets_code_names_be():
    cell = (
        'def f(x, weight_scale):\n'
        '    """返回 x 的形状（``x.shape``），dtype 为 float64；None 表示全部。"""\n'
        '    # 计算 softmax 的 logits，保持 cache\n'
        '    # sum over the samples (axis 0)\n'
        '    print(f"{\'weight scale\':>12} | {\'3 层\':^38}")\n'
        '    print(f"权重尺度 {weight_scale}，{\'QUICK\' if x else \'完整\'}")\n'
        '    label = f"{x} threads"\n'
        '    runs = {"train": 1}\n'
        '    assert runs["train"] == 1, "relu_forward 修改了输入 x：请构造一个新数组"\n'
        '    return np.mean(x, axis=0), f"gamma{x}", runs["train"]\n'
    )
    found = english_left.code_leftovers(cell, "cell")
    assert [(f.kind, f.words) for f in found] == [
        ("comment", ("sum", "over", "the", "samples", "axis")),
        ("string", ("weight", "scale")),
        ("string", ("QUICK",)),
        ("string", ("threads",)),
    ]
    markdown = ("倒置 dropout（inverted dropout）的 $\\mu_{\\text{running}}$ 与 `bn_param`；"
                "$\\text{by default}$ 时\n### BEGIN SOLUTION\nthe running averages are kept\n### END SOLUTION\n")
    assert [(f.line, f.words) for f in english_left.markdown_leftovers(markdown, "cell")] == [
        (1, ("by", "default")), (3, ("the", "running", "averages", "are", "kept"))]
    # the English release is full of English: the scanner is not blind
    assert len(english_left.scan(RELEASE)) > 500


@pytest.mark.slow
@pytest.mark.needs_root
def test_zh_solutions_get_the_same_scores_as_the_english_ones_and_chinese_messages(edition, tmp_path, capsys):
    chinese = grade_json(edition / "solutions" / "mlp-zh", "--lang", "zh")
    english = grade_json(ROOT / "solutions" / "mlp")
    # neither edition's solutions hold the optional challenge's trained model: 0 there, in both languages
    assert chinese["score"] == chinese["max_score"] - optional_points() and not chinese["errors"]
    assert_missing_file_scores_zero(chinese)
    assert {t: r["score"] for t, r in chinese["tasks"].items()} == {t: r["score"] for t, r in english["tasks"].items()}

    # the same bug in both editions of notebook 01 costs the same points; only the language differs
    for lang, folder in (("en", ROOT / "solutions" / "mlp"), ("zh", edition / "solutions" / "mlp-zh")):
        nb = nbformat.read(folder / "01_layers.ipynb", as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu_backward_solution")
        cell.source = cell.source.replace("dx = dout * (x > 0)", "dx = dout.copy()")
        nbformat.write(nb, tmp_path / f"01_layers.{lang}.ipynb")
    results = {}
    for lang in ("en", "zh"):
        target = tmp_path / lang / "01_layers.ipynb"
        target.parent.mkdir()
        shutil.move(tmp_path / f"01_layers.{lang}.ipynb", target)
        results[lang] = grade_json(target, "--lang", lang)
    scores = {lang: {t: r["tasks"][t]["score"] for t in r["tasks"]} for lang, r in results.items()}
    assert scores["en"] == scores["zh"]
    assert scores["zh"]["relu_backward"] < results["zh"]["tasks"]["relu_backward"]["max_score"]
    messages = results["zh"]["tasks"]["relu_backward"]["messages"]
    assert messages and all(m.startswith("relu_backward: ") and CJK.search(m) for m in messages), messages
    assert not any(CJK.search(m) for m in results["en"]["tasks"]["relu_backward"]["messages"])

    # stock nbgrader path: the hidden cell of a zh notebook prints its messages in Chinese
    from mlplab.grading.nbgrader_hook import grade_task

    for lang in ("en", "zh"):
        points = grade_task("relu_backward", {}, cwd=tmp_path / lang)
        printed = capsys.readouterr().out
        assert points == scores[lang]["relu_backward"]
        assert bool(CJK.search(printed)) == (lang == "zh"), printed


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("affine_backward: dw relative error 3.1e-01 (needs < 1e-07): dw = x_flat.T @ dout, with x flattened to (N, D)",
         "affine_backward: dw 的相对误差为 3.1e-01（要求 < 1e-07）: dw = x_flat.T @ dout，其中 x 展平为 (N, D)"),
        ("dx has shape (3, 4), expected (3, 2)", "dx 的形状为 (3, 4)，应为 (3, 2)"),
        # a visible check composed of a message and a tail: both parts are catalogue templates
        ("dgamma has shape (3,), expected (5,): sum over the samples (axis 0)",
         "dgamma 的形状为 (3,)，应为 (5,): 请在样本轴（axis 0）上求和"),
        ("an unknown message: stays as it is", "an unknown message: stays as it is"),
    ],
)
def test_messages_are_translated_by_template_with_their_values(message, expected):
    assert i18n.translate_message(message, i18n.message_table("zh", ROOT)) == expected


@pytest.mark.slow
def test_a_failed_visible_check_shows_its_message_in_chinese(edition, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    shutil.copytree(edition / "release" / "mlp-zh" / "labutils", tmp_path / "labutils")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import labutils"),
        nbformat.v4.new_code_cell('assert 1 == 2, "relu_forward modified its input x: build a new array instead"'),
    ]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    shown = json.dumps(nb.cells[1].outputs, ensure_ascii=False)
    assert "relu_forward 修改了输入 x：请构造一个新数组" in shown, shown[:2000]


def test_english_labutils_installs_no_translation():
    import importlib.util

    spec = importlib.util.spec_from_file_location("labutils_i18n_en", SOURCE / "labutils" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.load_table() == {} and module.install() is False


def test_a_translation_that_changes_a_statement_is_rejected():
    english = 'def f(x):\n    """Return x."""\n    # keep the sign\n    print("value:", x)\n    return x > 0\n'
    pairs = {'"""Return x."""': '"""返回 x。"""', "# keep the sign": "# 保留符号", '"value:"': '"值："'}
    translated, missing = i18n_code.apply(english, pairs)
    assert missing == [] and i18n_code.code_difference(english, translated) is None
    assert '"""返回 x。"""' in translated and "# 保留符号" in translated and '"值："' in translated
    for changed in (translated.replace("x > 0", "x >= 0"), translated.replace("return x", "return (x)"),
                    translated.replace('print("值：", x)', 'print(f"值：{x}")'),
                    translated.replace("def f(x)", "def g(x)")):
        assert i18n_code.code_difference(english, changed) is not None, changed
    # an f-string may reword its text, not reorder or change its values
    assert i18n_code.same_code('print(f"a {x} b {y}")', 'print(f"甲 {x} 乙 {y}")')
    assert not i18n_code.same_code('print(f"a {x} b {y}")', 'print(f"{y} 乙 {x} 甲")')
    # nbgrader's markers and dict keys are not pieces: they are never offered for translation
    cell = '### BEGIN SOLUTION\nmode = bn_param["mode"]\n### END SOLUTION\n'
    assert i18n_code.pieces(cell) == []


def test_strings_inside_f_string_fields_are_translated_with_their_f_string():
    # table headers and labels built from strings inside the fields (issue 19: they stayed English)
    header = "f\"{'weight scale':>12} | {'3 layers':^38}\""
    label = "f\"{norm or 'no norm'}, ws={ws:g}\""
    code = (f"print({header})\nrow = f\"{{h['lr']:g}} | {{h['reg']:g}}\"\n"
            f"label = {label}\nkey = f\"{{net}}_epoch.pkl\"\n")
    assert [p.text for p in i18n_code.pieces(code)] == [header, label]  # not subscript keys or file names
    pairs = {header: "f\"{'权重尺度':>12} | {'3 层':^38}\"", label: "f\"{norm or '无归一化'}, ws={ws:g}\""}
    translated, missing = i18n_code.apply(code, pairs)
    assert missing == [] and i18n_code.same_code(code, translated) and "'无归一化'" in translated
    # the fields' strings may change, their expressions may not
    assert not i18n_code.same_code(code, translated.replace("norm or", "norm and"))
    assert not i18n_code.same_code(code, translated.replace("{'3 层':^38}", "{'3 层'!r:^38}"))


def _edit_code_cell(course, stem, grade_id_or_index, edit):
    notebook = source_dir(course) / f"{stem}.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    cell = [c for c in nb.cells if c.cell_type == "code"][grade_id_or_index]
    cell.source = edit(cell.source)
    nbformat.write(nb, notebook)
    return cell


def test_a_changed_code_cell_is_reported_stale_and_stub_keeps_the_translated_pieces(tmp_path):
    course = _course_copy(tmp_path)
    cell = _edit_code_cell(course, "01_layers", 2, lambda s: "# a brand-new comment for the check\n" + s)
    problems = i18n.check_catalogue("zh", course, messages=False)
    assert [(p.where, p.kind) for p in problems] == [(f"01_layers/{cell.id}", "stale")]
    assert "1 English pieces not translated" in problems[0].detail and "brand-new comment" in problems[0].detail
    with pytest.raises(i18n.CatalogueError, match="stale"):
        i18n.translated_source("zh", tmp_path / "out", course)

    assert i18n.stub_missing("zh", course) == 1
    problems = i18n.check_catalogue("zh", course, messages=False)
    assert [p.kind for p in problems] == ["missing"] and "(TODO)" in problems[0].detail
    path = i18n.catalogue_dir("zh", course) / "01_layers.txt"
    text = path.read_text(encoding="utf-8")
    assert text.count(f"=== code {cell.id} ") == 1  # rewritten in place
    assert "# 可见检查：固定的输入" in text  # the pieces already translated are kept
    path.write_text(text.replace("TODO # a brand-new comment for the check", "# 一条新注释"), encoding="utf-8")
    assert i18n.check_catalogue("zh", course, messages=False) == []

    # a statement changed, comments unchanged: the translation still applies
    _edit_code_cell(course, "01_layers", 2, lambda s: s.replace("num_inputs, input_shape", "num_inputs , input_shape"))
    assert i18n.check_catalogue("zh", course, messages=False) == []


def test_a_new_code_cell_is_reported_missing(tmp_path):
    course = _course_copy(tmp_path)
    notebook = source_dir(course) / "03_fc_net.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('# new experiment\nprint("done in", 3, "s")'))
    nbformat.write(nb, notebook)
    problems = i18n.check_catalogue("zh", course, messages=False)
    assert [p.kind for p in problems] == ["missing"] and problems[0].where == f"03_fc_net/{nb.cells[-1].id}"
    assert "code cell" in problems[0].detail and "2 comments, docstrings and strings" in problems[0].detail


def test_an_untouched_chinese_answer_cell_counts_as_unanswered():
    from mlplab.course.gradebook import unanswered

    assert unanswered("请在此处作答", None) and unanswered("YOUR ANSWER HERE", None)
    assert not unanswered("我的答案", None)


def _banned_variants() -> dict[str, list[str]]:
    """Banned variant -> the term to use, from the table 'One term per concept' of docs/glossary-zh.md."""
    text = (ROOT / "docs" / "glossary-zh.md").read_text(encoding="utf-8")
    table = text.split("## One term per concept", 1)[1]
    banned = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("concept", "---") and not set(cells[0]) <= {"-"}:
            for variant in cells[2].split(","):
                banned[variant.strip()] = cells[1]
    return banned


def _chinese_texts():
    """(where, Chinese text) of every translation in the catalogue."""
    for (stem, kind, key), entry in i18n.load_catalogue("zh", ROOT).items():
        if kind == "code":
            for english, chinese in i18n_code.parse_pairs(entry.text, "zh").items():
                yield f"{stem}/{key}: {english[:40]!r}", chinese
        else:
            yield f"{stem}/{key}", entry.text


def test_the_catalogue_uses_one_term_per_concept_from_the_glossary():
    banned = _banned_variants()
    assert {"缓存", "批次", "得分", "下标", "抽样", "反向 dropout", "内联问题"} <= set(banned)
    drift = [f"{where}: {variant} (use {term})" for where, text in _chinese_texts()
             for variant, term in banned.items() if variant in text]
    assert drift == [], "\n".join(drift[:20])


def test_plain_text_messages_have_no_markdown_emphasis_and_no_english_tails():
    for (_, kind, key), entry in i18n.load_catalogue("zh", ROOT).items():
        if kind != "message":
            continue
        assert not re.search(r"\*\*[^*\d\s]", entry.text.replace("**2", "")), f"{key}: {entry.text}"
        # outside code (backticks, identifiers, formulas) no run of three English words is left
        prose = re.sub(r"`[^`]*`|\{\d+\}", " ", entry.text)
        assert not re.search(r"\b[a-z]{3,} [a-z]{2,} [a-z]{3,}\b", prose), f"{key}: {entry.text}"


def test_the_zh_edition_draws_chinese_plot_labels_with_an_installed_cjk_font(monkeypatch, capsys):
    import importlib.util

    import matplotlib
    from matplotlib import font_manager

    spec = importlib.util.spec_from_file_location("labutils_i18n_fonts", SOURCE / "labutils" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with matplotlib.rc_context():
        monkeypatch.setattr(font_manager.fontManager, "ttflist", [font_manager.FontEntry(name="SimHei")])
        assert module._use_cjk_fonts() == "SimHei"
        assert matplotlib.rcParams["font.sans-serif"][0] == "SimHei"
        monkeypatch.setattr(font_manager.fontManager, "ttflist", [font_manager.FontEntry(name="DejaVu Sans")])
        assert module._use_cjk_fonts() is None
        assert "没有找到中文字体" in capsys.readouterr().out  # says how to get one instead of boxes without a word
