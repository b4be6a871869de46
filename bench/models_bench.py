"""Accuracy benchmark of the featurelab models on the published GTZAN table.

Protocols (both nested: the search runs inside each outer training fold):

- ``cv``: 5-fold stratified CV x 3 seeds on ``features_30_sec.csv`` (the protocol of the naive
  baselines: SVM 0.755, LightGBM 0.766, soft vote SVM+XGB+LGBM 0.770);
- ``split``: the artist-filtered split (train+valid -> test; the search validates on valid),
  where the naive SVM gets 0.50 and LightGBM 0.57.

``naive-*`` rows re-run the naive scripts' fixed models inside the same honest protocol (no
search): SVM rbf C=5 gamma=0.01, LightGBM and XGBoost with library defaults, their soft vote.

Usage::

    python bench/models_bench.py --models svm,lgbm,voting --protocol cv,split
    python bench/models_bench.py --quick --models svm          # 1 repeat, 3 folds, small searches
    python bench/models_bench.py --models svm --log-var both    # does the log of *_var help?

Writes ``<out>/bench.json`` and ``<out>/bench.md`` (default out: runs/bench-<timestamp>) and prints
the Markdown table. Skips cleanly when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

#: Fixed models of the naive scripts (no search): name -> (registry model, params, options)
NAIVE = {
    "naive-svm": ("svm", {"clf__C": 5, "clf__gamma": 0.01, "clf__kernel": "rbf"}, {}),
    "naive-lgbm": (
        "lgbm",
        {
            "clf__n_estimators": 100,
            "clf__learning_rate": 0.1,
            "clf__num_leaves": 31,
            "clf__subsample": 1.0,
            "clf__colsample_bytree": 1.0,
        },
        {},
    ),
    "naive-xgb": (
        "xgb",
        {
            "clf__estimator__n_estimators": 100,
            "clf__estimator__max_depth": 6,
            "clf__estimator__learning_rate": 0.3,
            "clf__estimator__subsample": 1.0,
            "clf__estimator__colsample_bytree": 1.0,
        },
        {},
    ),
    "naive-voting": (
        "voting",
        {
            "clf__svm__estimator__clf__C": 5,
            "clf__svm__estimator__clf__gamma": 0.01,
            "clf__xgb__clf__estimator__n_estimators": 100,
            "clf__xgb__clf__estimator__max_depth": 6,
            "clf__xgb__clf__estimator__learning_rate": 0.3,
            "clf__xgb__clf__estimator__subsample": 1.0,
            "clf__xgb__clf__estimator__colsample_bytree": 1.0,
            "clf__lgbm__clf__n_estimators": 100,
            "clf__lgbm__clf__learning_rate": 0.1,
            "clf__lgbm__clf__num_leaves": 31,
            "clf__lgbm__clf__subsample": 1.0,
            "clf__lgbm__clf__colsample_bytree": 1.0,
        },
        {"members": ["svm", "xgb", "lgbm"]},
    ),
}


#: ``--budget small`` (default): searches cut down to fit a shared 2-core machine. The packaged
#: configs (``--budget full``) are larger. Printed with the results.
SMALL_BUDGET = {
    "lgbm": {
        "search": "grid",
        "grid": {"clf__num_leaves": [7, 15]},
        "params": {"clf__colsample_bytree": 0.5, "clf__min_child_samples": 10},
    },
    "xgb": {
        "search": "grid",
        "grid": {"clf__estimator__max_depth": [3, 5]},
        "params": {"clf__estimator__colsample_bytree": 0.5},
    },
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="The shared data folder.")
    parser.add_argument(
        "--models",
        default="svm,lgbm,voting",
        help="Comma-separated registry models and/or naive-svm, naive-lgbm, "
        "naive-xgb, naive-voting, or 'naive' for all four.",
    )
    parser.add_argument("--protocol", default="cv,split", help="cv, split or cv,split.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--search", default=None, help="Override every model's search method.")
    parser.add_argument("--n-iter", type=int, default=None, help="Override random-search size.")
    parser.add_argument("--log-var", choices=("off", "on", "both"), default="off")
    parser.add_argument(
        "--budget",
        choices=("small", "full"),
        default="small",
        help="small: cut-down lgbm/xgb searches (see SMALL_BUDGET); full: the "
        "packaged configs/<model>.yaml as they are.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 repeat x 3 folds, random search of 4 candidates: a smoke run."
    )
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def run_one(
    dataset, name: str, protocol: str, log_var: bool, args: argparse.Namespace, split_dir: Path
) -> dict:
    from featurelab.models.evaluate import evaluate
    from featurelab.models.runner import resolve_config

    if name in NAIVE:
        model, params, options = NAIVE[name]
        cfg = resolve_config(model, {"grid": {}, "params": params, "options": options})
    else:
        model = name
        budget = SMALL_BUDGET.get(model, {}) if args.budget == "small" else {}
        cfg = resolve_config(model, budget, search=args.search, n_iter=args.n_iter)
    search, n_iter = cfg.search, cfg.n_iter
    if args.quick and cfg.grid:
        search, n_iter = "random", min(n_iter, 4)
    kwargs = dict(
        search=search,
        grid=cfg.grid,
        n_iter=n_iter,
        inner_cv=cfg.inner_cv,
        seed=args.seed,
        n_jobs=args.jobs,
        log_var=log_var,
        params=cfg.params,
        options=cfg.options,
        repeats=1 if args.quick else args.repeats,
    )
    if protocol == "cv":
        kwargs["cv"] = 3 if args.quick else args.cv
    else:
        kwargs["split_dir"] = str(split_dir)
    start = time.perf_counter()
    result = evaluate(dataset, model, **kwargs)
    wall = time.perf_counter() - start
    summary = result.summary()
    return {
        "name": name,
        "model": model,
        "protocol": summary["protocol"],
        "protocol_key": protocol,
        "log_var": log_var,
        "search": _describe_search(cfg, search, n_iter),
        "grid": cfg.grid,
        "options": cfg.options,
        "n_iter": n_iter,
        "accuracy_mean": summary["accuracy_mean"],
        "accuracy_std": summary["accuracy_std"],
        "balanced_accuracy_mean": summary["balanced_accuracy_mean"],
        "f1_macro_mean": summary["f1_macro_mean"],
        "fit_time_mean": summary["fit_time_mean"],
        "wall_seconds": wall,
        "best_params": summary["best_params"],
    }


def _describe_search(cfg, search: str, n_iter: int) -> str:
    parts = []
    if cfg.grid:
        parts.append(f"{search}, {_n_candidates(cfg.grid, search, n_iter)} candidates")
    for member, grid in (cfg.options.get("member_grids") or {}).items():
        parts.append(f"{member} member self-tuned over {_n_candidates(grid, 'grid', 0)}")
    return "; ".join(parts) or "none (fixed parameters)"


def _n_candidates(grid, search: str, n_iter: int) -> str:
    from featurelab.models.config import grid_size

    size = grid_size(grid)
    if search == "random":
        return str(n_iter if size is None else min(n_iter, size))
    return str(size)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | protocol | log var | search | accuracy (mean ± std) | macro F1 | fit s/fold |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['protocol']} | {'yes' if r['log_var'] else 'no'} | {r['search']} "
            f"| {r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f} | {r['f1_macro_mean']:.3f} "
            f"| {r['fit_time_mean']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    table = args.data / "features_30_sec.csv"
    split_dir = args.data / "splits"
    if not table.is_file():
        print(f"skipped: {table} not found (pass --data)", file=sys.stderr)
        return 0
    from featurelab.models.data import load_dataset

    dataset = load_dataset(table)
    names = []
    for part in args.models.split(","):
        part = part.strip()
        names.extend(NAIVE if part == "naive" else [part] if part else [])
    protocols = [p.strip() for p in args.protocol.split(",") if p.strip()]
    log_vars = {"off": [False], "on": [True], "both": [False, True]}[args.log_var]
    out = args.out or REPO / "runs" / f"bench-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for protocol in protocols:
        for name in names:
            for log_var in log_vars:
                row = run_one(dataset, name, protocol, log_var, args, split_dir)
                rows.append(row)
                print(
                    f"{row['name']:13s} {row['protocol']:55s} log_var={log_var!s:5s} "
                    f"acc {row['accuracy_mean']:.4f} ± {row['accuracy_std']:.4f}  "
                    f"F1 {row['f1_macro_mean']:.4f}  ({row['wall_seconds']:.0f} s)",
                    flush=True,
                )
                (out / "bench.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    text = markdown(rows)
    (out / "bench.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
