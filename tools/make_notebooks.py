"""Write the notebooks in notebooks/ (stored without outputs). Run: python tools/make_notebooks.py"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = """# One variable to change: a corpus in the GTZAN layout <root>/<label>/<file> (e.g. the real
# GTZAN "genres_original" folder). None = featurelab's built-in synthetic corpus (no download).
DATA = None

from pathlib import Path

import featurelab
from featurelab.synthetic import make_synthetic_corpus

WORK = Path("featurelab-notebooks")  # tables, caches and runs of these notebooks
if DATA is None:
    DATA = WORK / "corpus"
    if not DATA.exists():
        make_synthetic_corpus(DATA, n_per_class=8, duration=6.0, seed=0)
print("corpus:", DATA)"""

TABLES = """# Track table (one row per file) and 3 s segment table, from one decoding of each file.
# The cache makes a rerun (or the next notebook) instant.
from featurelab.extraction import extract_tables

result = extract_tables(DATA, segment=3.0, tables=("track", "segment"), n_jobs=0,
                        cache=WORK / "featurelab-cache")
tracks, segments = result.tables["track"], result.tables["segment"]
print(len(tracks), "tracks,", len(segments), "segments;", len(result.errors), "failed inputs")"""


def nb(cells: list) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def extract_and_explore() -> nbformat.NotebookNode:
    return nb(
        [
            new_markdown_cell(
                "# 01 — Extract and explore\n\nTurn an audio corpus into the GTZAN feature "
                "table (the exact schema of the published `features_30_sec.csv`) and look at it: "
                "class balance, correlations, and how a few features separate the genres."
            ),
            new_code_cell(SETUP),
            new_code_cell(TABLES),
            new_code_cell("tracks.head()"),
            new_markdown_cell(
                "Inputs that could not be decoded are never silently dropped: they are listed "
                "with a reason (`featurelab extract` writes them to `<out>.errors.csv`)."
            ),
            new_code_cell("result.errors"),
            new_markdown_cell("## Class balance"),
            new_code_cell("""import matplotlib.pyplot as plt

ax = tracks["label"].value_counts().sort_index().plot.bar(figsize=(6, 3), title="tracks per label")
ax.set_ylabel("tracks");"""),
            new_markdown_cell(
                "## Correlation between features\n\nMany of the 57 columns are strongly "
                "correlated (centroid, rolloff and bandwidth; the low MFCCs), which is why "
                "selecting a handful of them loses less than one might fear."
            ),
            new_code_cell("""import numpy as np
from featurelab.features.schema import GTZAN_FEATURE_COLUMNS

corr = tracks[list(GTZAN_FEATURE_COLUMNS)].corr().fillna(0)
fig, ax = plt.subplots(figsize=(9, 8))
im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(len(corr)), corr.columns, rotation=90, fontsize=5)
ax.set_yticks(range(len(corr)), corr.columns, fontsize=5)
fig.colorbar(im, ax=ax, shrink=0.7)
ax.set_title("feature correlation");"""),
            new_markdown_cell("## Per-genre distributions"),
            new_code_cell("""columns = ["spectral_centroid_mean", "tempo", "zero_crossing_rate_mean", "rms_mean"]
labels = sorted(tracks["label"].unique())
fig, axes = plt.subplots(1, len(columns), figsize=(14, 3.5))
for ax, column in zip(axes, columns):
    ax.boxplot([tracks.loc[tracks["label"] == label, column] for label in labels])
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=60, fontsize=8)
    ax.set_title(column, fontsize=9)
fig.tight_layout()"""),
            new_markdown_cell(
                "## One signal at a time\n\n`extract_features(y, sr)` computes the same columns "
                "for a signal in memory."
            ),
            new_code_cell("""y, sr = featurelab.load_audio(next(Path(DATA).rglob("*.wav")))
row = featurelab.extract_features(y, sr)
{name: round(value, 3) for name, value in list(row.items())[:8]}"""),
        ]
    )


def model_search() -> nbformat.NotebookNode:
    return nb(
        [
            new_markdown_cell(
                "# 02 — Model search, honestly\n\nNested cross-validation: the grid search "
                "runs inside each outer training fold, the scaler is fitted on training rows "
                "only, and clips of one track never straddle train and test."
            ),
            new_code_cell(SETUP),
            new_code_cell(TABLES),
            new_markdown_cell(
                "## SVM, XGBoost, LightGBM and the soft vote\n\n`gridsearch` is what "
                "`featurelab gridsearch` runs: it writes a run directory (results.json, "
                "report.md, confusion matrix, the final model). Small searches here to keep "
                "the notebook quick; the defaults in `configs/<model>.yaml` are the full ones."
            ),
            new_code_cell("""from featurelab.models import gridsearch

quick = {
    "svm": {"search": "random", "n_iter": 10},
    "xgb": {"search": "random", "n_iter": 3},
    "lgbm": {"search": "random", "n_iter": 3, "params": {"clf__min_child_samples": 3}},
    "voting": {},
}
runs = {}
for model, settings in quick.items():
    runs[model] = gridsearch(tracks, model, out=WORK / "runs" / model, cv=5, seed=0,
                             n_jobs=-1, formats=("skops",), **settings)
    print(f"{model:7s} accuracy {runs[model].results['accuracy_mean']:.3f} ± {runs[model].results['accuracy_std']:.3f}")"""),
            new_code_cell("""from featurelab.compare import format_leaderboard, leaderboard

board = leaderboard([run.run_dir for run in runs.values()])
print(format_leaderboard(board))"""),
            new_markdown_cell("## Confusion matrices (summed over the outer test folds)"),
            new_code_cell("""import matplotlib.pyplot as plt
import numpy as np

fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 4))
for ax, (model, run) in zip(axes, runs.items()):
    cm = np.array(run.results["confusion_matrix"])
    classes = run.results["classes"]
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    for (i, j), value in np.ndenumerate(cm):
        ax.text(j, i, int(value), ha="center", va="center", fontsize=7)
    ax.set_title(model)
fig.tight_layout()"""),
            new_markdown_cell(
                "## Why group-aware splits matter\n\nThe 3 s segments of one track are "
                "near-duplicates. Split them at random and the model is tested on tracks it "
                "has already heard. Compare a plain stratified split of segments with the "
                "track-grouped split that `gridsearch` uses by default for segment tables."
            ),
            new_code_cell("""from sklearn.model_selection import StratifiedKFold, cross_val_score

from featurelab.models import load_dataset, make_cv, make_model

data = load_dataset(segments)
print("segment table:", data.is_segment_table, "| tracks:", len(set(data.groups)))
leaky = cross_val_score(make_model("svm"), data.X, data.y,
                        cv=StratifiedKFold(5, shuffle=True, random_state=0))
grouped = cross_val_score(make_model("svm"), data.X, data.y, groups=data.groups,
                          cv=make_cv(5, groups=data.groups, seed=0))
print(f"random segment split (leaks): {leaky.mean():.3f} ± {leaky.std():.3f}")
print(f"track-grouped split (honest): {grouped.mean():.3f} ± {grouped.std():.3f}")"""),
            new_code_cell("""segment_run = gridsearch(segments, "svm", out=WORK / "runs" / "svm-segments", cv=5, seed=0,
                         n_jobs=-1, search="random", n_iter=10, formats=("skops",))
r = segment_run.results
print(r["protocol"])
print(f"segment accuracy {r['accuracy_mean']:.3f}, track accuracy (mean of segment probabilities) "
      f"{r['track_accuracy_mean']:.3f}")"""),
        ]
    )


def shap_selection() -> nbformat.NotebookNode:
    return nb(
        [
            new_markdown_cell(
                "# 03 — SHAP feature selection\n\nRank features by mean |SHAP| inside every "
                "training fold, see how stable the ranking is, and where on the "
                "accuracy-vs-k curve a choice of k stands."
            ),
            new_code_cell(SETUP),
            new_code_cell(TABLES),
            new_code_cell("""from featurelab.selection import select_features

selection = select_features(tracks, "xgb", k=10, cv=5, ks=(3, 5, 10, 20, "all"), seed=0, n_jobs=0)
selection.ranking.head(10)"""),
            new_markdown_cell(
                "`selected_frac` is the share of folds whose own top-k contained the feature: "
                "1.0 means the choice did not depend on which rows were in the fold."
            ),
            new_code_cell("selection.curve"),
            new_code_cell("selection.plot_curve()"),
            new_code_cell("selection.plot_bar(top=15)"),
            new_code_cell("selection.plot_beeswarm(top=15)"),
            new_markdown_cell(
                "## Use the selection\n\n`write()` produces `selected.txt`, usable as "
                "`featurelab gridsearch --features-file`. Inside your own pipeline, "
                "`ShapSelector` refits the selection in every training fold."
            ),
            new_code_cell("""from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from featurelab.models import load_dataset, make_cv, make_model
from featurelab.selection import ShapSelector

run_dir = selection.write(WORK / "runs" / "select-xgb")
print(open(run_dir / "selected.txt").read())
data = load_dataset(tracks)
pipe = make_pipeline(ShapSelector(make_model("xgb"), k=10), make_model("svm"))
scores = cross_val_score(pipe, data.X, data.y, cv=make_cv(5, seed=0))
print(f"SVM on the 10 SHAP-selected features (selected inside each fold): {scores.mean():.3f} ± {scores.std():.3f}")"""),
        ]
    )


def neural_vs_classical() -> nbformat.NotebookNode:
    return nb(
        [
            new_markdown_cell(
                "# 04 — Neural nets beside the classical models\n\nA PyTorch MLP on the "
                "feature table and a small CNN on log-mel segments, evaluated with the same "
                "folds and metrics as the classical models. Needs the `[nn]` extra "
                "(`pip install torch==2.13.0 && pip install 'featurelab[nn]'`)."
            ),
            new_code_cell(SETUP),
            new_code_cell(TABLES),
            new_code_cell("""from featurelab.models import gridsearch

svm = gridsearch(tracks, "svm", out=WORK / "runs" / "svm", cv=5, seed=0, n_jobs=-1,
                 search="random", n_iter=10, formats=("skops",))
mlp = gridsearch(tracks, "mlp_torch", out=WORK / "runs" / "mlp_torch", cv=5, seed=0, n_jobs=1,
                 grid={}, params={"clf__max_epochs": 60, "clf__patience": 10}, save_model=False)
for run in (svm, mlp):
    print(f"{run.results['model']:9s} {run.results['accuracy_mean']:.3f} ± {run.results['accuracy_std']:.3f}")"""),
            new_code_cell("""from featurelab.nn.cnn import load_cnn_config, train_cnn

config, _ = load_cnn_config(epochs=8)
cnn = train_cnn(DATA, out=WORK / "runs" / "cnn", cv=5, config=config,
                cache=WORK / "featurelab-cache")  # the extraction cache: spectrograms too
cnn_dir = cnn.run_dir
print(f"cnn segment accuracy {cnn.results.get('accuracy_mean'):.3f}, "
      f"track accuracy {cnn.results.get('track_accuracy_mean'):.3f}")"""),
            new_code_cell("""from featurelab.compare import format_leaderboard, leaderboard

print(format_leaderboard(leaderboard([svm.run_dir, mlp.run_dir, cnn_dir])))"""),
            new_code_cell("""from IPython.display import Image

Image(str(cnn_dir / "curves.png"))"""),
        ]
    )


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, build in (
        ("01_extract_and_explore.ipynb", extract_and_explore),
        ("02_model_search.ipynb", model_search),
        ("03_shap_selection.ipynb", shap_selection),
        ("04_neural_vs_classical.ipynb", neural_vs_classical),
    ):
        notebook = build()
        nbformat.validate(notebook)
        nbformat.write(notebook, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
