"""Shift benchmark: do models trained on GTZAN segments hold up on short, quiet, noisy clips?

Usage::

    python bench/shift_bench.py [--data ../shared/data/gtzan-excerpts] [--out /tmp/featurelab-shift-bench]
        [--sets gtzan musicnn gtzan+musicnn ...] [--normalize none peak rms] [--crops 3] [--copies 2]
        [--policies] [--artist-filtered ../shared/data/features_30_sec.csv] [--jobs 2]

1. Folds: the 100 excerpts (10 genres x 10 tracks) in 5 stratified folds of tracks (seed 0); every
   row of a track is on one side.
2. Training rows: the 3 s GTZAN windows of the training tracks (``featurelab extract --segment 3``),
   with the ``--normalize`` option under test; "+aug" adds ``--copies`` augmented copies of every
   window (``--augment shift``: a 2-3 s crop, -20..0 dB, white noise at 10-30 dB SNR; crops are
   looped to one window, as ``predict`` does with short clips). Augmented rows of a test track are
   never used (the bench splits by track, and ``featurelab.models.splits`` enforces the same).
3. Shifted test: ``--crops`` random crops of each held-out track, 2-3 s long, at a random gain of
   -20..0 dB, with white noise at 10-30 dB SNR (seeded per track, written once as float WAV files
   under ``--out``), extracted the way ``featurelab predict`` extracts a clip for a segment model
   (:meth:`ExtractionSettings.for_prediction`: the clip looped to one window). In-distribution:
   the held-out tracks' clean 3 s windows. Accuracy per clip / window, mean ± std over the folds.
4. Model: StandardScaler -> SVC (RBF, C=10, gamma="scale"), fixed (no search: the same model for
   every row of the table).
5. ``--policies``: the short-clip policies (one shorter window, looped, zero-padded) on the
   shifted crops, for gtzan and musicnn, without augmentation.
6. ``--artist-filtered TABLE``: svm and lgbm on the published ``features_30_sec.csv`` with the
   built-in artist-filtered split (train+valid -> test; ``featurelab.models.evaluate``, nested
   search of the default grids).

Features go through ``featurelab.extraction.extract_tables`` with its resume cache under ``--out``:
a rerun reads them back in seconds. The musicnn sets are extracted as their ``*_pooled`` sets once;
``musicnn`` etc. are their mean/std columns (the same values ``extract -f musicnn`` writes). On a
3 s window (one musicnn patch) std is 0 and max equals mean, so ``*_pooled`` adds no information to
segment models. Prints the tables and writes ``shift.csv`` (and ``policies.csv``,
``artist_filtered.csv``) into ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-excerpts"
SEED = 0
#: --sets part -> (feature set extracted, keep the ``_max`` columns)
PARTS = {
    "gtzan": ("gtzan", True),
    "musicnn": ("musicnn_pooled", False),
    "musicnn_pooled": ("musicnn_pooled", True),
    "musicnn_mtt": ("musicnn_mtt_pooled", False),
    "musicnn_mtt_pooled": ("musicnn_mtt_pooled", True),
    "musicnn_vgg": ("musicnn_vgg_pooled", False),
    "musicnn_vgg_pooled": ("musicnn_vgg_pooled", True),
    "musicnn_mtt_vgg": ("musicnn_mtt_vgg_pooled", False),
}
DEFAULT_SETS = [
    "gtzan",
    "musicnn",
    "musicnn_pooled",
    "musicnn_mtt",
    "musicnn_vgg",
    "musicnn_mtt_vgg",
    "gtzan+musicnn",
    "musicnn+musicnn_vgg",
    "gtzan+musicnn+musicnn_vgg",
]


def make_crops(files: list[Path], out: Path, n_crops: int) -> pd.DataFrame:
    """Write the shifted test clips (float WAV, 22050 Hz) once; return path, track, label, gain, snr."""
    import soundfile as sf

    from featurelab.io import load_audio

    rows = []
    for index, path in enumerate(files):
        rng = np.random.default_rng([SEED, index])
        y = None
        for k in range(n_crops):
            target = out / "crops" / path.parent.name / f"{path.stem}.c{k}.wav"
            length_s, gain_db, snr_db = (
                rng.uniform(2.0, 3.0),
                rng.uniform(-20.0, 0.0),
                rng.uniform(10.0, 30.0),
            )
            start_frac = rng.uniform()
            noise_seed = int(rng.integers(2**31))
            if not target.exists():
                if y is None:
                    y, sr = load_audio(path, sr=22050)
                n = int(round(length_s * 22050))
                start = int(start_frac * (len(y) - n))
                clip = y[start : start + n].astype(np.float64) * 10 ** (gain_db / 20)
                power = np.mean(clip**2)
                noise = np.random.default_rng(noise_seed).standard_normal(n) * np.sqrt(
                    power / 10 ** (snr_db / 10)
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                sf.write(target, (clip + noise).astype(np.float32), 22050, subtype="FLOAT")
            rows.append(
                {
                    "path": str(target),
                    "track": path.stem,
                    "label": path.parent.name,
                    "gain_db": gain_db,
                    "snr_db": snr_db,
                }
            )
    return pd.DataFrame(rows)


def extract(root: Path, settings, cache: Path, jobs: int) -> pd.DataFrame:
    """Extract a GTZAN-layout folder (labels from the folders) with the resume cache."""
    from featurelab.extraction import extract_tables

    result = extract_tables(str(root), settings=settings, n_jobs=jobs, cache=cache, progress=False)
    if len(result.errors):
        raise SystemExit(f"extraction failed: {result.errors.head().to_dict('records')}")
    return result.tables[settings.table]


class Features:
    """Feature tables of the excerpts' windows (+ augmented copies) and of the crops, cached."""

    def __init__(self, data: Path, crops: pd.DataFrame, out: Path, jobs: int, copies: int) -> None:
        self.data, self.crops, self.out, self.jobs, self.copies = data, crops, out, jobs, copies
        self.augment = copies > 0  # extract the copies with the windows (the windows are its copy-0 rows)
        self.cache = out / "cache"
        self.memo: dict = {}

    def settings(self, feature_set: str, normalize: str, **options):
        from featurelab.settings import ExtractionSettings

        return ExtractionSettings(features=feature_set, segment=3.0, normalize=normalize, **options)

    def windows(self, feature_set: str, normalize: str, augment: bool) -> pd.DataFrame:
        """Windows of every excerpt; with ``augment``, followed by ``copies`` augmented copies."""
        key = ("windows", feature_set, normalize, augment)
        if not augment and self.augment:  # the file's own rows of the augmented table: same values
            table = self.windows(feature_set, normalize, True)
            return table[table["augmented"] == 0].reset_index(drop=True)
        if key not in self.memo:
            options = {"augment": "shift", "copies": self.copies, "augment_seed": SEED} if augment else {}
            settings = self.settings(feature_set, normalize, short_clips="loop", **options)
            table = extract(self.data, settings, self.cache, self.jobs)
            if "augmented" not in table:
                table["augmented"] = 0
            table["track"] = [name.rsplit(".", 2)[0] for name in table["filename"]]
            self.memo[key] = table
        return self.memo[key]

    def clips(self, feature_set: str, normalize: str, policy: str = "loop") -> pd.DataFrame:
        """The shifted crops, extracted as ``predict`` extracts a clip for a segment model."""
        key = ("clips", feature_set, normalize, policy)
        if key not in self.memo:
            from featurelab.datasets import segment_name

            settings = self.settings(feature_set, normalize, short_clips=policy).for_prediction()
            table = extract(self.out / "crops", settings, self.cache, self.jobs)
            names = [segment_name(Path(p).name, 0) for p in self.crops["path"]]  # one window each
            table = table.set_index("filename").loc[names].reset_index()  # one row per crop, in order
            table["track"] = self.crops["track"].to_numpy()
            self.memo[key] = table
        return self.memo[key]


def columns(table: pd.DataFrame, keep_max: bool) -> list[str]:
    from featurelab.features.schema import NON_FEATURE_COLUMNS

    skip = {*NON_FEATURE_COLUMNS, "track"}
    return [c for c in table.columns if c not in skip and (keep_max or not c.endswith("_max"))]


def matrix(get, spec: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Join the parts of ``spec`` (``gtzan+musicnn``): X and the first part's table (row info)."""
    blocks, first = [], None
    for part in spec.split("+"):
        feature_set, keep_max = PARTS[part]
        table = get(feature_set)
        first = table if first is None else first
        if (
            len(table) != len(first)
            or not (table["filename"].to_numpy() == first["filename"].to_numpy()).all()
        ):
            raise SystemExit(f"rows of {part} do not line up")
        blocks.append(table[columns(table, keep_max)].to_numpy(dtype=np.float64))
    return np.hstack(blocks), first


def folds(tracks: np.ndarray, labels: np.ndarray) -> list[tuple[set, set]]:
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    return [(set(tracks[a]), set(tracks[b])) for a, b in cv.split(tracks, labels)]


def model():
    from featurelab.models.registry import make_model

    return make_model("svm", random_state=SEED, clf__C=10.0)


def evaluate(
    features: Features, spec: str, normalize: str, augment: bool, splits, policy: str = "loop"
) -> dict:
    X, rows = matrix(lambda s: features.windows(s, normalize, augment), spec)
    Xc, clips = matrix(lambda s: features.clips(s, normalize, policy), spec)
    tracks, copies = rows["track"].to_numpy(), rows["augmented"].to_numpy()
    in_dist, shifted = [], []
    for train_tracks, test_tracks in splits:
        train = np.isin(tracks, list(train_tracks))
        test = np.isin(tracks, list(test_tracks)) & (copies == 0)  # never test on a copy
        assert not (np.isin(tracks, list(test_tracks)) & train).any()
        fitted = model().fit(X[train], rows["label"].to_numpy()[train])
        in_dist.append(np.mean(fitted.predict(X[test]) == rows["label"].to_numpy()[test]))
        held = np.isin(clips["track"].to_numpy(), list(test_tracks))
        shifted.append(np.mean(fitted.predict(Xc[held]) == clips["label"].to_numpy()[held]))
    return {
        "features": spec,
        "normalize": normalize,
        "augment": f"shift x{features.copies}" if augment else "-",
        "n_features": X.shape[1],
        "in_distribution": np.mean(in_dist),
        "in_distribution_std": np.std(in_dist),
        "shifted": np.mean(shifted),
        "shifted_std": np.std(shifted),
    }


def artist_filtered(table: Path, jobs: int) -> pd.DataFrame:
    from featurelab.models.evaluate import evaluate as nested

    rows = []
    for name in ("svm", "lgbm"):
        start = time.perf_counter()
        result = nested(table, name, split_dir="gtzan-filtered", seed=42, n_jobs=jobs, progress=False)
        rows.append(
            {"model": name, "test_accuracy": result.mean("accuracy"), "seconds": time.perf_counter() - start}
        )
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table (floats with 3 decimals)."""
    cells = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def show(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for key in ("in_distribution", "shifted"):
        if key in out:
            out[key] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(out[key], out.pop(f"{key}_std"), strict=True)]
    return markdown(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/featurelab-shift-bench"))
    parser.add_argument("--sets", nargs="+", default=DEFAULT_SETS)
    parser.add_argument("--normalize", nargs="+", default=["none", "peak", "rms"])
    parser.add_argument("--crops", type=int, default=3, help="shifted crops per track")
    parser.add_argument("--copies", type=int, default=2, help="augmented copies per window (0: no +aug rows)")
    parser.add_argument("--policies", action="store_true", help="compare the short-clip policies")
    parser.add_argument("--artist-filtered", type=Path, default=None, help="features_30_sec.csv")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    for spec in args.sets:
        unknown = [part for part in spec.split("+") if part not in PARTS]
        if unknown:
            raise SystemExit(f"unknown set part(s) {unknown}; choose among {', '.join(PARTS)}")
    files = sorted(args.data.glob("*/*.wav"))
    if not files:
        raise SystemExit(f"no excerpts under {args.data}")
    args.out.mkdir(parents=True, exist_ok=True)
    crops = make_crops(files, args.out, args.crops)
    features = Features(args.data, crops, args.out, args.jobs, args.copies)
    tracks = np.array([f.stem for f in files])
    splits = folds(tracks, np.array([f.parent.name for f in files]))
    started = time.perf_counter()

    if args.policies:
        rows = []
        for spec in ("gtzan", "musicnn"):
            for normalize in ("none", "rms"):
                for policy in ("window", "loop", "pad"):
                    row = evaluate(features, spec, normalize, False, splits, policy=policy)
                    rows.append({"policy": policy, **row})
                    print(
                        f"[{time.perf_counter() - started:6.0f} s] policy {policy} {spec} {normalize}",
                        flush=True,
                    )
        frame = pd.DataFrame(rows).drop(columns=["augment"])
        frame.to_csv(args.out / "policies.csv", index=False)
        print("\nShort clips (2-3 s, shifted), by policy, no augmentation\n" + show(frame), flush=True)

    rows = []
    for spec in args.sets:
        for normalize in args.normalize:
            for augment in (False, True) if args.copies else (False,):
                rows.append(evaluate(features, spec, normalize, augment, splits))
                print(
                    f"[{time.perf_counter() - started:6.0f} s] {spec} {normalize} aug={augment}: "
                    f"{rows[-1]['in_distribution']:.3f} / {rows[-1]['shifted']:.3f}",
                    flush=True,
                )
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out / "shift.csv", index=False)
    print(
        f"\nShift benchmark: {len(files)} excerpts, 5 folds by track, svm (C=10); in-distribution = "
        f"held-out clean 3 s windows, shifted = {args.crops} crops per held-out track (2-3 s, -20..0 dB, "
        "10-30 dB SNR)\n" + show(frame)
    )
    if args.artist_filtered is not None:
        frame = artist_filtered(args.artist_filtered, args.jobs)
        frame.to_csv(args.out / "artist_filtered.csv", index=False)
        print("\nArtist-filtered split (train+valid -> test)\n" + markdown(frame))


if __name__ == "__main__":
    main()
