"""The HTML report: content, embedding, escaping, tolerance of partial run folders, CLI."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from featurelab.cli import main
from featurelab.exceptions import ParameterError
from featurelab.report import build_report, find_report_runs

CLASSES = ["blues", "classical", "jazz"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "source"}


# ----------------------------------------------------------------------------- fixtures
def _png(path: Path, label: str = "plot") -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set_title(label)
    fig.savefig(path, format="png", dpi=50)
    return path


def _results(model: str, accuracy: float, **extra) -> dict:
    folds = [
        {
            "repeat": 0,
            "fold": i,
            "accuracy": accuracy + d,
            "balanced_accuracy": accuracy + d - 0.01,
            "f1_macro": accuracy + d - 0.02,
        }
        for i, d in enumerate((-0.02, 0.0, 0.02))
    ]
    results = {
        "model": model,
        "protocol": "3-fold StratifiedGroupKFold x 1 repeats",
        "n_samples": 90,
        "n_features": 57,
        "n_classes": 3,
        "classes": CLASSES,
        "accuracy_mean": accuracy,
        "accuracy_std": 0.0163,
        "balanced_accuracy_mean": accuracy - 0.01,
        "balanced_accuracy_std": 0.02,
        "f1_macro_mean": accuracy - 0.02,
        "f1_macro_std": 0.025,
        "track_accuracy_mean": None,
        "track_accuracy_std": None,
        "fit_time_mean": 1.234,
        "predict_time_per_track": 0.000456,
        "best_params": [{"clf__C": 10, "clf__gamma": "scale"}] * 3,
        "fold_scores": folds,
        "per_class": {
            label: {"precision": 0.9 - 0.1 * i, "recall": 0.85 - 0.1 * i, "f1": 0.87 - 0.1 * i, "support": 30}
            for i, label in enumerate(CLASSES)
        },
        "confusion_matrix": [[27, 2, 1], [3, 24, 3], [2, 5, 23]],
        "seed": 42,
        "featurelab_version": "0.1.0",
        "created": "2026-01-02T03:04:05",
        "command": "featurelab gridsearch features.csv --model " + model,
    }
    results.update(extra)
    return results


def _run(root: Path, name: str, results: dict | None = None, pngs: tuple[str, ...] = ()) -> Path:
    run = root / name
    run.mkdir(parents=True)
    if results is not None:
        (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    for png in pngs:
        _png(run / png, png)
    return run


def _selection_run(root: Path, name: str = "select-xgb") -> Path:
    run = _run(root, name, pngs=("shap_bar.png", "shap_beeswarm.png", "accuracy_vs_k.png"))
    lines = ["feature,mean_abs_shap,std_abs_shap,selected_frac,rank"]
    lines += [
        f"feat_{i:02d},{1.0 / (i + 1):.6g},{0.01 * i:.6g},{1.0 if i < 5 else 0.0},{i + 1}" for i in range(20)
    ]
    (run / "ranking.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (run / "selected.txt").write_text(
        "# featurelab select: 5 features by mean |SHAP|\n" + "".join(f"feat_{i:02d}\n" for i in range(5)),
        encoding="utf-8",
    )
    (run / "curve.csv").write_text(
        "k,accuracy_mean,accuracy_std,n_folds\n5,0.71,0.03,5\n10,0.74,0.02,5\n", encoding="utf-8"
    )
    (run / "selection.json").write_text(
        json.dumps(
            {
                "model": "xgb",
                "downstream": "svm",
                "protocol": "5-fold",
                "rule": "k",
                "k": 5,
                "n_selected": 5,
                "selected": [f"feat_{i:02d}" for i in range(5)],
                "selection_accuracy_mean": 0.7123,
                "selection_accuracy_std": 0.0311,
            }
        ),
        encoding="utf-8",
    )
    return run


@pytest.fixture
def runs(tmp_path) -> dict[str, Path]:
    root = tmp_path / "runs"
    return {
        "svm": _run(root, "run-svm", _results("svm", 0.7512), pngs=("confusion_matrix.png",)),
        "xgb": _run(root, "run-xgb", _results("xgb", 0.8021)),  # confusion matrix drawn from JSON
        "mlp": _run(root, "run-mlp", _results("mlp_torch", 0.6634), pngs=("curves.png",)),
        "select": _selection_run(root),
    }


class _StrictParser(HTMLParser):
    """Checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()


def _parse(text: str) -> _StrictParser:
    parser = _StrictParser()
    parser.feed(text)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


# ----------------------------------------------------------------------------- content
def test_report_contains_leaderboard_details_and_images(runs, tmp_path):
    out = build_report(list(runs.values()), tmp_path / "out" / "report.html", title="My runs")
    assert out == tmp_path / "out" / "report.html"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for name in ("svm", "xgb", "mlp_torch", "run-svm", "run-xgb", "run-mlp", "select-xgb"):
        assert name in text
    assert "<title>My runs</title>" in text
    # leaderboard numbers: accuracy mean ± std, balanced accuracy, macro F1, times
    assert "0.8021 ± 0.0163" in text
    assert "0.7921 ± 0.0200" in text  # balanced accuracy of xgb
    assert "0.7821 ± 0.0250" in text  # macro F1 of xgb
    assert "1.23" in text and "0.456" in text  # fit seconds, predict ms per track
    assert "0.7123 ± 0.0311" in text  # the selection run's downstream accuracy
    # per-class table and fold table
    assert "<th>precision</th>" in text and "0.870" in text and "0.770" in text
    assert "clf__C" in text
    assert '<img src="data:image/png;base64,' in text
    assert "<script" not in text.lower()
    assert "http://" not in text and "https://" not in text  # nothing fetched from elsewhere
    _parse(text)


def test_every_png_is_embedded_once_and_decodes(runs, tmp_path):
    text = build_report(list(runs.values()), tmp_path / "r.html").read_text(encoding="utf-8")
    images = _images(text)
    # svm: confusion png; xgb: confusion drawn; mlp: confusion drawn + curves; select: 3 plots
    assert len(images) == 7
    assert all(image.startswith(PNG_SIGNATURE) for image in images)
    on_disk = {p.read_bytes() for p in Path(runs["svm"]).parent.rglob("*.png")}
    assert on_disk <= set(images)


def test_leaderboard_is_sorted_by_accuracy(runs, tmp_path):
    text = build_report(list(runs.values()), tmp_path / "r.html").read_text(encoding="utf-8")
    board = text[text.index('id="leaderboard"') : text.index('class="run"')]
    positions = [board.index(f">{name}</a>") for name in ("run-xgb", "run-svm", "select-xgb", "run-mlp")]
    assert positions == sorted(positions)
    assert re.search(r'<tr class="best">.*?run-xgb', board)


def test_selection_run_shows_ranking_top_15_selected_and_curve(runs, tmp_path):
    text = build_report([runs["select"]], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "feat_14" in text and "feat_15" not in text  # top 15 of 20 ranking rows
    assert "First 15 of 20 rows" in text
    assert "Selected features (5)" in text
    assert "0.74" in text  # curve table
    for caption in ("SHAP importance", "beeswarm", "Accuracy versus number of selected features"):
        assert caption in text
    _parse(text)


def test_run_folders_are_found_inside_a_parent(runs, tmp_path):
    found = find_report_runs([tmp_path / "runs"])
    assert found == sorted(runs.values())
    text = build_report([tmp_path / "runs"], tmp_path / "r.html").read_text(encoding="utf-8")
    assert all(f">{p.name}</a>" in text for p in runs.values())


def test_duplicates_are_dropped_and_results_json_path_accepted(runs, tmp_path):
    found = find_report_runs([runs["svm"], runs["svm"] / "results.json", runs["xgb"]])
    assert found == [runs["svm"], runs["xgb"]]


def test_text_is_escaped(tmp_path):
    evil = '<script>alert("x")</script>'
    results = _results(evil, 0.5, classes=["<b>a</b>", "b&c", "c"], protocol="<i>p</i>")
    results["per_class"] = {"<b>a</b>": {"precision": 1, "recall": 1, "f1": 1, "support": 3}}
    run = _run(tmp_path, "run-<x>", results)
    text = build_report([run], tmp_path / "r.html", title="<title>").read_text(encoding="utf-8")
    assert "<script" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&lt;b&gt;a&lt;/b&gt;" in text and "&lt;i&gt;p&lt;/i&gt;" in text
    assert "run-&lt;x&gt;" in text
    _parse(text)


def test_partial_and_broken_run_folders_are_tolerated(tmp_path):
    minimal = _run(tmp_path, "minimal", {"model": "knn"})  # no scores at all
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.json").write_text("{not json", encoding="utf-8")
    wrong = _run(
        tmp_path,
        "wrong-types",
        {
            "model": "rf",
            "accuracy_mean": "high",
            "per_class": [1, 2],
            "confusion_matrix": [[1, 2]],
            "fold_scores": "none",
            "fit_time_mean": None,
        },
    )
    plots_only = _run(tmp_path, "compare-out", pngs=("compare.png",))  # charts, not a run
    not_png = _run(tmp_path, "not-png", {"model": "svm", "accuracy_mean": 0.5})
    (not_png / "fake.png").write_text("not an image", encoding="utf-8")
    only_ranking = tmp_path / "ranking-only"
    only_ranking.mkdir()
    (only_ranking / "ranking.csv").write_text("feature,rank\nrms_mean,1\n", encoding="utf-8")
    out = build_report([minimal, broken, wrong, plots_only, not_png, only_ranking], tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "results.json could not be read" in text
    assert "confusion_matrix in results.json could not be drawn" in text
    assert "fake.png is not a PNG image" in text
    assert "No scores, tables or plots found" in text
    assert "rms_mean" in text
    assert len(_images(text)) == 1  # compare.png only
    _parse(text)


def test_no_temporary_files_are_left(runs, tmp_path):
    out_dir = tmp_path / "out"
    build_report([runs["svm"]], out_dir / "r.html")
    build_report([runs["xgb"]], out_dir / "r.html")  # replaces the first
    assert [p.name for p in out_dir.iterdir()] == ["r.html"]
    assert "run-xgb" in (out_dir / "r.html").read_text(encoding="utf-8")


def test_rendering_does_not_touch_pyplot_state(runs, tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    build_report([runs["xgb"]], tmp_path / "r.html")
    assert plt.get_fignums() == before


# ----------------------------------------------------------------------------- errors
def test_missing_run_dir_names_the_path(runs, tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ParameterError, match=re.escape(str(missing))):
        build_report([runs["svm"], missing], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_folder_without_runs_is_rejected(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ParameterError, match="is not a run directory and holds none"):
        build_report([empty], tmp_path / "r.html")
    with pytest.raises(ParameterError, match="at least one run directory"):
        build_report([], tmp_path / "r.html")


def test_file_given_as_run_dir_and_folder_as_output_are_rejected(runs, tmp_path):
    stray = tmp_path / "notes.txt"
    stray.write_text("x")
    with pytest.raises(ParameterError, match="is not a folder"):
        build_report([stray], tmp_path / "r.html")
    with pytest.raises(ParameterError, match="out_path must be a file name"):
        build_report([runs["svm"]], tmp_path)


# ----------------------------------------------------------------------------- CLI
def test_cli_writes_report(runs, tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", str(runs["svm"]), str(runs["select"]), "-o", str(out), "--title", "CLI report"])
    assert code == 0
    assert "Wrote" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "CLI report" in text and "run-svm" in text and "select-xgb" in text


def test_cli_missing_dir_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing-run"
    code = main(["report", str(missing), "-o", str(tmp_path / "r.html")])
    assert code == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_parent_folder_is_not_a_run_but_its_charts_are_shown(runs, tmp_path, capsys):
    parent = tmp_path / "runs"
    _png(parent / "leaderboard.png", "leaderboard")
    assert find_report_runs([parent]) == sorted(runs.values())
    text = build_report([parent], tmp_path / "r.html").read_text(encoding="utf-8")
    assert text.count('<section class="run"') == len(runs)  # exactly one section per run
    assert "4 runs;" in text
    board = text[text.index('id="leaderboard"') : text.index('class="run"')]
    assert "<figcaption>Leaderboard (accuracy mean ± std)</figcaption>" in board
    assert ">runs</a>" not in text
    _parse(text)
    # the CLI counts the runs, not the folder
    assert main(["report", str(parent), "-o", str(tmp_path / "r2.html")]) == 0
    assert "(4 runs)" in capsys.readouterr().out


def test_runs_and_their_parent_are_shown_once(runs, tmp_path):
    text = build_report([*runs.values(), tmp_path / "runs"], tmp_path / "r.html").read_text(encoding="utf-8")
    assert text.count('<section class="run"') == len(runs)


def test_plots_only_folder_is_not_a_run(tmp_path):
    plots = _run(tmp_path, "plots", pngs=("compare.png",))
    with pytest.raises(ParameterError, match="at least one run directory"):
        build_report([plots], tmp_path / "r.html")


def test_hostile_results_json_is_a_note_not_a_crash(tmp_path):
    huge = _run(tmp_path, "huge", {"model": "svm"})
    (huge / "results.json").write_text('{"model": "svm", "accuracy_mean": 1' + "0" * 4000 + "}")
    deep = _run(tmp_path, "deep", {"model": "svm"})
    (deep / "results.json").write_text("[" * 100_000 + "]" * 100_000)
    newer = _run(tmp_path, "newer", {"model": "svm", "schema_version": 99, "accuracy_mean": 0.5})
    good = _run(tmp_path, "good", _results("svm", 0.6))
    text = build_report([huge, deep, newer, good], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "nests deeper than" in text
    assert "schema_version 99" in text
    assert text.count('<section class="run"') == 4
    _parse(text)


def test_unwritable_output_is_one_error_line(runs, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", str(runs["svm"]), "-o", str(blocker / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- in a real browser
def _chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


# Injected into a copy of the page: once everything is loaded, the measurements go into an
# attribute of <body>, which Chromium's --dump-dom prints.
_MEASURE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.prototype.map.call(document.images, function (img) {
    return {alt: img.alt, loaded: img.complete && img.naturalWidth > 0};
  });
  var tables = Array.prototype.map.call(document.querySelectorAll("table"), function (table) {
    var wrapper = table.closest(".scroll");
    var column = wrapper ? wrapper.parentElement : table.parentElement;
    var style = getComputedStyle(column);
    var room = column.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    var head = table.querySelector("th");
    return {head: head ? head.textContent : "", width: table.getBoundingClientRect().width, room: room};
  });
  document.body.setAttribute("data-measure", JSON.stringify({
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, images: images, tables: tables}));
});
</script>"""


def _measure_in_chromium(page: Path, tmp_path: Path, width: int = 1280) -> dict:
    import html
    import subprocess

    copy = tmp_path / "measured.html"
    copy.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"), encoding="utf-8"
    )
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={width},900",
        "--virtual-time-budget=3000",
        "--dump-dom",
        copy.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    found = re.search(r'data-measure="([^"]*)"', done.stdout)
    assert found, f"Chromium exited with {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture
def demo_like_runs(runs, tmp_path) -> Path:
    """The report's widest content: timestamped run names, long protocols, a segment run, a chart."""
    from featurelab.compare import leaderboard, plot_leaderboard

    root = runs["svm"].parent
    _run(
        root,
        "20260102-030405-svm-segments",
        _results(
            "svm",
            0.9489,
            protocol="predefined split gtzan-filtered (train+valid -> test) x 3 repeats",
            track_accuracy_mean=0.96,
            track_accuracy_std=0.049,
            is_segment_table=True,
        ),
        pngs=("confusion_matrix.png", "track_confusion_matrix.png"),
    )
    _run(root, "20260102-030406-voting", _results("voting", 0.8533), pngs=("confusion_matrix.png",))
    plot_leaderboard(leaderboard([root]), root / "leaderboard.png")
    return root


@pytest.mark.skipif(
    _chromium() is None,
    reason="Chromium is not installed (Debian/Ubuntu: apt-get install chromium; .ci/run installs it)",
)
def test_report_fits_1280_px_and_every_image_loads_in_chromium(demo_like_runs, tmp_path):
    page = build_report([demo_like_runs], tmp_path / "report.html")
    measured = _measure_in_chromium(page, tmp_path, width=1280)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    too_wide = [t for t in measured["tables"] if t["width"] > t["room"] + 1]
    assert too_wide == [], too_wide
    assert measured["images"] and all(image["loaded"] for image in measured["images"]), measured["images"]
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page.read_text(encoding="utf-8"))
    assert captions and not [c for c in captions if c.endswith(".png") or "_" in c], captions
