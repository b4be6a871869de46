"""featurelab.features.rhythm/cepstrum against librosa: import cost and run time, one run.

Import: each of ``import numpy, scipy.fft`` (the baseline every path pays), ``import
featurelab.features.rhythm, featurelab.features.cepstrum`` and ``import librosa.feature,
librosa.onset`` in a fresh interpreter, ``--repeat`` times each (interleaved); median wall time of the
whole interpreter and the median ``-X importtime`` cumulative time of the imported top-level modules.

Run time: on the log-mel spectrogram of one 30 s track (a GTZAN excerpt looped to 30 s when
../shared/data is present, noise + clicks otherwise), the calls of gtzan's engine -- power_to_db,
onset_strength(aggregate=np.median), mfcc(n_mfcc=20), the uncentred 8 s tempogram of the
ramp-padded envelope and tempo -- featurelab's and librosa's, best of ``--repeat`` timeit loops each,
checked equal first.

    python bench/rhythm_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

import numpy as np

SR, HOP = 22050, 512
IMPORTS = {
    "numpy+scipy.fft": "import numpy, scipy.fft",
    "featurelab rhythm+cepstrum": "import featurelab.features.rhythm, featurelab.features.cepstrum",
    "librosa.feature+onset": "import librosa.feature, librosa.onset",
}


def _import_once(code: str) -> tuple[float, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - start
    tops = [int(m.group(1)) for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \| \S", out.stderr)]
    return wall, sum(tops) / 1e6


def bench_imports(repeat: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
    for _ in range(repeat):
        for name, code in IMPORTS.items():
            results[name].append(_import_once(code))
    print(f"import (fresh interpreter, median of {repeat}): wall s | -X importtime top-level s")
    med = {
        n: (statistics.median(w for w, _ in r), statistics.median(t for _, t in r))
        for n, r in results.items()
    }
    for name, (wall, cum) in med.items():
        print(f"  {name:28s} {wall:7.3f} | {cum:7.3f}")
    base = med["numpy+scipy.fft"][0]
    ours, theirs = med["featurelab rhythm+cepstrum"][0] - base, med["librosa.feature+onset"][0] - base
    print(
        f"  beyond numpy+scipy.fft: featurelab {ours:.3f} s, librosa {theirs:.3f} s, ratio {theirs / ours:.0f}x"
    )


def _track() -> np.ndarray:
    import soundfile as sf

    path = Path(__file__).resolve().parents[2] / "shared/data/gtzan-excerpts/rock/rock.00001.wav"
    n = 30 * SR
    if path.exists():
        y = sf.read(path, dtype="float32")[0]
        return np.resize(y, n)
    rng = np.random.default_rng(0)
    y = 0.05 * rng.standard_normal(n).astype(np.float32)
    y[:: int(SR * 0.5)] += 1.0
    return y


def bench_runtime(repeat: int) -> None:
    import librosa

    from featurelab.features import cepstrum, rhythm

    mel = librosa.feature.melspectrogram(y=_track(), sr=SR, hop_length=HOP)  # float32 (128, 1292)
    win = int(librosa.time_to_frames(8.0, sr=SR, hop_length=HOP).item())
    log_mel = librosa.power_to_db(mel)
    env = librosa.onset.onset_strength(S=log_mel, sr=SR, hop_length=HOP, aggregate=np.median)
    padded = np.pad(env, (win // 2, win // 2), mode="linear_ramp", end_values=[0, 0])
    tg_args = dict(onset_envelope=padded, sr=SR, hop_length=HOP, win_length=win, center=False)
    tg = librosa.feature.tempogram(**tg_args)
    cases = {
        "power_to_db": (lambda: cepstrum.power_to_db(mel), lambda: librosa.power_to_db(mel)),
        "onset_strength": (
            lambda: rhythm.onset_strength(S=log_mel, sr=SR, hop_length=HOP, aggregate=np.median),
            lambda: librosa.onset.onset_strength(S=log_mel, sr=SR, hop_length=HOP, aggregate=np.median),
        ),
        "mfcc": (
            lambda: cepstrum.mfcc(log_mel, n_mfcc=20),
            lambda: librosa.feature.mfcc(S=log_mel, n_mfcc=20),
        ),
        "tempogram (8 s)": (
            lambda: rhythm.tempogram(**tg_args),
            lambda: librosa.feature.tempogram(**tg_args),
        ),
        "tempo": (
            lambda: rhythm.tempo(tg=tg, sr=SR, hop_length=HOP),
            lambda: librosa.feature.tempo(tg=tg, sr=SR, hop_length=HOP),
        ),
    }
    print(f"run time on a 30 s track ({mel.shape[1]} frames), best of {repeat}: featurelab | librosa | ratio")
    total_ours = total_theirs = 0.0
    for name, (ours, theirs) in cases.items():
        assert np.array_equal(ours(), theirs()), name
        number = max(1, int(0.05 / max(1e-6, timeit.timeit(theirs, number=1))))
        t_ours = min(timeit.repeat(ours, number=number, repeat=repeat)) / number
        t_theirs = min(timeit.repeat(theirs, number=number, repeat=repeat)) / number
        total_ours, total_theirs = total_ours + t_ours, total_theirs + t_theirs
        print(f"  {name:16s} {t_ours * 1e3:8.2f} ms | {t_theirs * 1e3:8.2f} ms | {t_theirs / t_ours:5.2f}x")
    print(
        f"  {'all':16s} {total_ours * 1e3:8.2f} ms | {total_theirs * 1e3:8.2f} ms | {total_theirs / total_ours:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bench_imports(args.repeat)
    bench_runtime(args.repeat)


if __name__ == "__main__":
    main()
