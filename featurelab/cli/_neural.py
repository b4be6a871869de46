"""Command ``train-cnn``: a small CNN on log-mel segments, evaluated like ``gridsearch``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..parallel import DEFAULT_N_JOBS
from ._app import EXIT_OK, EXIT_PARTIAL, Jobs, OutDir, Quiet, Split, app, show_progress


@app.command("train-cnn", no_args_is_help=True)
def train_cnn(
    audio_root: Annotated[
        Path,
        typer.Argument(
            help="Corpus folder ROOT/LABEL/FILE (GTZAN layout) or a manifest CSV.",
            show_default=False,
        ),
    ],
    cv: Annotated[
        int | None,
        typer.Option("--cv", help="Folds of the track-grouped stratified k-fold [default: 5]."),
    ] = None,
    split_dir: Split = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Maximum epochs per fold [default: 30].")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Segments per batch [default: 32].")
    ] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="AdamW learning rate [default: 1e-3].")] = None,
    patience: Annotated[
        int | None,
        typer.Option("--patience", help="Early stopping patience in epochs [default: 10]."),
    ] = None,
    segment: Annotated[
        float | None, typer.Option("--segment", help="Segment length in seconds [default: 3].")
    ] = None,
    augment: Annotated[
        bool | None,
        typer.Option(
            "--augment/--no-augment",
            help="Waveform augmentation of training segments (noise, gain, polarity, shift, "
            "stretch, filters) [default: on].",
            show_default=False,
        ),
    ] = None,
    spec_augment: Annotated[
        bool | None,
        typer.Option(
            "--spec-augment/--no-spec-augment",
            help="SpecAugment time/frequency masks on training batches [default: on].",
            show_default=False,
        ),
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto | cpu | cuda [default: auto].")] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="PyTorch threads while training [default: PyTorch's]."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML file overriding configs/cnn.yaml (settings under 'params'; 'cv', 'seed', "
            "'split_dir'). Flags override it.",
        ),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Resume-cache folder of the extraction (the spectrograms), reused across runs "
            "[default: none, computed for this run].",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (same seed, same results on CPU).")
    ] = None,
    save_model: Annotated[
        bool,
        typer.Option(
            "--save-model/--no-save-model",
            help="Also train a final model on all tracks (CV) or keep the split's model, and save "
            "it (model.skops, model.joblib, model.json) for `featurelab predict`.",
        ),
    ] = False,
    jobs: Jobs = DEFAULT_N_JOBS,
    out: OutDir = None,
    quiet: Quiet = False,
) -> int:
    """Train and evaluate a small CNN on log-mel segments; saves a run directory.

    Each file is cut into segments (default 3 s, 128 mel bands) by the extraction driver (as
    `featurelab extract` does; a file shorter than one segment is skipped and reported); --cache
    keeps the spectrograms for later runs. Folds are grouped by track, so no track straddles
    training and test data; inside each training fold some tracks are held out for early
    stopping. Augmentation touches training segments only. Scores are per segment and per track
    (mean of the segment probabilities). Needs the [nn] extra.

    The run directory (--out, default runs/TIMESTAMP-cnn) holds results.json (same keys as
    gridsearch, so `featurelab compare` and `report` show both), report.md, confusion_matrix.png,
    track_confusion_matrix.png, curves.png (loss and accuracy per epoch, train vs validation),
    history.csv, predictions.csv, track_predictions.csv, config.json and, with --save-model, the
    model (model.skops, model.joblib, model.json) that `featurelab predict RUN song.wav` uses.
    Exit code 1 if some files were skipped.

    For example:

    * `featurelab train-cnn gtzan/genres --cv 5 --epochs 30`

    * `featurelab train-cnn gtzan/genres --split gtzan-filtered --cache ~/.cache/featurelab-mels --save-model`

    * `featurelab train-cnn corpus/ --no-augment --device cpu --threads 2 -o runs/cnn-plain`
    """
    from ..nn.cnn import load_cnn_config, train_cnn

    settings, protocol = load_cnn_config(
        config,
        cv=cv,
        split_dir=None if split_dir is None else str(split_dir),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        segment=segment,
        augment=augment,
        spec_augment=spec_augment,
        device=device,
        threads=threads,
        seed=seed,
    )
    run = train_cnn(
        audio_root,
        out=out,
        cv=protocol["cv"],
        split_dir=protocol["split_dir"],
        config=settings,
        cache=cache,
        n_jobs=jobs,
        save_model=save_model,
        progress=show_progress(quiet),
        command=shlex.join(["featurelab", *sys.argv[1:]]) if sys.argv else None,
    )
    for path, reason in run.problems:
        typer.echo(f"Skipped {path}: {reason}", err=True)
    if not quiet:
        r = run.results
        typer.echo(f"cnn: {r.protocol} ({r.n_tracks} tracks, {r.n_samples} segments)")
        typer.echo(
            f"  segment accuracy {r.get('accuracy_mean'):.4f} ± {r.get('accuracy_std'):.4f}   "
            f"macro F1 {r.get('f1_macro_mean'):.4f}   fit {r.fit_time_mean:.1f} s/fold "
            f"on {r.get('device')}"
        )
        typer.echo(f"  track accuracy {r.get('track_accuracy_mean'):.4f} ± {r.get('track_accuracy_std'):.4f}")
        typer.echo(f"  run directory: {run.run_dir}")
    return EXIT_PARTIAL if run.problems else EXIT_OK
