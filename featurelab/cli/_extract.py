"""``featurelab extract``: audio corpus -> feature table(s).

Every option named like a field of :class:`featurelab.settings.ExtractionSettings` (``--segment``,
``--sr``, ``--features``, ...) is an extraction setting: the command builds the settings object from
its parsed options in one place (:meth:`ExtractionSettings.from_options`), so a new extraction option
is its field plus its option here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..parallel import DEFAULT_N_JOBS
from ._app import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, Jobs, Quiet, Scheduler, app, show_progress


def _cache_dir(out: Path) -> Path:
    return out.with_name(f"{out.stem}.featurelab-cache")


def _list_features(value: bool) -> None:
    """``--list-features``: each feature set, its columns, whether it is installed; then exit.

    Reads the registry only (no feature set's implementation is imported, so no torch or librosa).
    """
    if not value:
        return
    from ..features.registry import BACKENDS, COMBINATIONS, FEATURE_SETS

    rows = [("feature set", "columns", "installed", "description")]
    for feature_set in FEATURE_SETS:
        installed = feature_set.available
        description = feature_set.description + ("" if installed else f" Install: {feature_set.hint()}")
        columns = "?" if feature_set.n_columns is None else str(feature_set.n_columns)
        rows.append((feature_set.name, columns, "yes" if installed else "no", description))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for name, columns, installed, description in rows:
        typer.echo(f"{name:<{widths[0]}}  {columns:>{widths[1]}}  {installed:<{widths[2]}}  {description}")
    defaults = "; ".join(f"--backend {backend}: {','.join(sets)}" for backend, sets in BACKENDS.items())
    typer.echo(f"\n--features NAME[,NAME...] puts the columns in that order. Default: {defaults}.")
    for name, sets in COMBINATIONS.items():
        typer.echo(f"--features {name} stands for {','.join(sets)}.")
    raise typer.Exit(EXIT_OK)


@app.command(no_args_is_help=True)
def extract(
    ctx: typer.Context,
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="A folder in the GTZAN layout `<root>/<label>/<file>`, a manifest CSV (with "
            "--manifest), or one or more audio files.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output table (.csv or .parquet).", show_default=False)
    ],
    manifest: Annotated[
        bool,
        typer.Option(
            "--manifest",
            help="INPUT is a manifest CSV with columns path,label and optional start,end (seconds) "
            "and group (track/artist id, kept for group-aware splits).",
        ),
    ] = False,
    segment: Annotated[
        float | None,
        typer.Option(
            "--segment",
            help="Write the segment table instead: one row per consecutive window of this many "
            "seconds (3 = the published features_3_sec.csv).",
        ),
    ] = None,
    segment_hop: Annotated[
        float | None,
        typer.Option("--segment-hop", help="Seconds between segment starts [default: --segment]."),
    ] = None,
    segment_mode: Annotated[
        str,
        typer.Option(
            "--segment-mode",
            help="'gtzan': segment i is y[i*w : i*w + w - 1], like the published 3 s table; "
            "'exact': full windows.",
        ),
    ] = "gtzan",
    track_out: Annotated[
        Path | None,
        typer.Option(
            "--track-out",
            help="With --segment: also write the track table here, from the same decoding.",
        ),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            "-f",
            help="Comma-separated feature sets, e.g. gtzan,contrast [default: the backend's set]; "
            "'generalize' = gtzan,musicnn,musicnn_vgg (holds up best on shifted audio). "
            "See --list-features.",
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option("--backend", help="librosa (the published GTZAN schema) or pyaudioanalysis."),
    ] = "librosa",
    sr: Annotated[int, typer.Option("--sr", help="Decode (and resample) to this sampling rate.")] = 22050,
    normalize: Annotated[
        str,
        typer.Option(
            "--normalize",
            help="Loudness of each file (track rows) or window (segment rows) before its features: "
            "'none' (as decoded, the published tables), 'peak' (peak 1) or 'rms' (-20 dBFS). "
            "Recorded in the sidecar; predict applies it to new audio.",
        ),
    ] = "none",
    short_clips: Annotated[
        str,
        typer.Option(
            "--short-clips",
            help="With --segment, a clip shorter than one segment is: 'drop'ped (an error row, like "
            "the published tables), one shorter 'window', 'loop'ed or zero-'pad'ded to one segment.",
        ),
    ] = "drop",
    augment: Annotated[
        str | None,
        typer.Option(
            "--augment",
            help="Add augmented copies of every file's rows (training rows only; column "
            "'augmented'): a preset (shift, robust) or NAME=LO:HI[@P] items, e.g. "
            "'gain=-20:0,noise=10:30,crop=2:3'; names gain, noise, crop, stretch, pitch, lowpass, "
            "highpass. Needs the [augment] extra.",
        ),
    ] = None,
    copies: Annotated[int, typer.Option("--copies", help="Augmented copies per file (with --augment).")] = 1,
    augment_seed: Annotated[
        int, typer.Option("--augment-seed", help="Seed of the augmentation (with --augment).")
    ] = 0,
    jobs: Jobs = DEFAULT_N_JOBS,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Resume-cache folder [default: `<OUT stem>.featurelab-cache` beside the output].",
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
    scheduler: Scheduler = None,
    quiet: Quiet = False,
    list_features: Annotated[
        bool,
        typer.Option(
            "--list-features",
            help="List the feature sets (column count, description, whether installed) and exit.",
            is_eager=True,
            callback=_list_features,
        ),
    ] = False,
) -> int:
    """Extract a feature table from audio, in the exact schema of the published GTZAN tables.

    One row per file (or manifest clip) with the 60 columns of features_30_sec.csv; with
    --segment 3, one row per 3 s segment named `<stem>.<i>.wav` (features_3_sec.csv). Failed inputs
    go to `<OUT stem>.errors.csv` (path, reason) and never stop the run; settings go to
    `<OUT stem>.meta.json`. An interrupted run, started again, recomputes only what is missing.

    For example:

    * `featurelab extract gtzan/genres_original -o features_30_sec.csv`

    * `featurelab extract gtzan/genres_original -o features_3_sec.csv --segment 3 --track-out tracks.csv`

    * `featurelab extract clips.csv --manifest -o clips.parquet --features gtzan,contrast`

    * `featurelab extract music/ -o train.csv --segment 3 --normalize rms --augment shift --copies 2`
    """
    from ..io import check_writable, table_format
    from ..settings import ExtractionSettings

    settings = ExtractionSettings.from_options(ctx.params)  # the options named like its fields
    table_format(out)  # validate the extension before any work
    if track_out is not None:
        table_format(track_out)
        if segment is None:
            raise typer.BadParameter("--track-out needs --segment.", param_hint="--track-out")
    source = inputs[0] if len(inputs) == 1 else inputs
    if manifest and len(inputs) != 1:
        raise typer.BadParameter("--manifest takes exactly one CSV file.", param_hint="INPUTS")
    if len(inputs) == 1 and not inputs[0].exists():
        typer.echo(f"Error: input {str(inputs[0])!r} does not exist.", err=True)
        return EXIT_USAGE
    for path in (out, track_out):
        if path is not None:
            check_writable(path)  # fail now, not after hours of extraction
    targets = {settings.table: out}
    if track_out is not None:
        targets["track"] = track_out
    run = dict(
        settings=settings,
        n_jobs=jobs,
        cache=None if no_cache else (cache or _cache_dir(out)),
        manifest=True if manifest else None,
        progress=show_progress(quiet),
    )
    if scheduler is None and (len(inputs) > 1 or manifest or inputs[0].is_dir()):
        from ..parallel import resolve_n_jobs
        from ..worker import prestart_workers

        prestart_workers(settings, resolve_n_jobs(jobs))  # workers start while the driver imports
    from ..extraction import extract_to_files

    if scheduler is not None:
        from ..distributed import dask_backend

        with dask_backend(scheduler, n_workers=jobs if jobs > 1 else None):
            result = extract_to_files(source, targets, **run)
    else:
        result = extract_to_files(source, targets, **run)

    if not quiet:
        rows = ", ".join(f"{result.n_rows[k]} {k} rows -> {p}" for k, p in targets.items())
        speed = (
            f", {result.audio_seconds / result.elapsed:.0f}x realtime"
            if result.audio_seconds and result.elapsed
            else ""
        )
        damaged = f", {result.n_damaged} recomputed (damaged cache entries)" if result.n_damaged else ""
        typer.echo(
            f"{rows} ({result.n_computed} computed, {result.n_cached} from cache{damaged}{speed})", err=True
        )
        if result.failures:  # not result.errors: that DataFrame would import pandas
            typer.echo(f"{len(result.failures)} inputs failed; see {result.errors_path}", err=True)
            for path, reason in result.failures[:5]:
                typer.echo(f"  {path}: {reason}", err=True)
    return EXIT_PARTIAL if result.failures else EXIT_OK
