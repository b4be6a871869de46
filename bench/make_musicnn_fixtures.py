"""Produce ``tests/fixtures/musicnn/reference.npz`` with the ORIGINAL musicnn (TensorFlow) code.

The fixture is what ``tests/test_musicnn.py`` checks the PyTorch port against. It holds, for three
short clips synthesized deterministically by :func:`synthesize_clips` (numpy only, legacy
``RandomState`` streams, which numpy keeps frozen):

- ``<clip>/mel16``: the float16 mel power spectrogram (time, 96) exactly as musicnn's
  ``extractor.batch_data`` stores it before its log compression (checked bit for bit against
  ``batch_data``'s output below);
- ``<clip>/<model>/{taggram,penultimate,mean_pool,max_pool}``: per-patch outputs of the unmodified
  ``musicnn.extractor.extractor(file, model)`` for ``MSD_musicnn`` and ``MTT_musicnn``.
  musicnn 0.1.0's ``extractor`` has a bug for clips of more than ``config.BATCH_SIZE`` (= 1)
  patches: from the second batch on it appends the *first* batch's ``penultimate`` (and
  ``cnn1-3``) again instead of the new ones (stale variables in its loop). So the features are
  taken from a run with ``config.BATCH_SIZE`` raised to cover the whole clip (one ``sess.run``),
  and its taggram is checked against the default batch-size-1 run;
- ``<clip>/<model>/{taggram,pool5}`` for ``MSD_vgg`` and ``MTT_vgg``, the same way; ``pool5`` is the
  last pooling map, shape (patches, 2, 128) (time, channels; its frequency axis has size 1), whose
  flattening feeds the tag layer (the earlier, much larger pooling maps are left out to keep the
  fixture small: pool5 depends on all of them);
- ``meta``: a JSON string with the versions used.

The vgg entries were added later by the same script; regenerating left every earlier array bit for
bit as it was (only ``meta`` gained the two models), so the run is reproducible.

How the stored fixture was produced (a scratch environment, never a project dependency)::

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 numpy==1.23.5 librosa==0.8.1 soundfile
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python bench/make_musicnn_fixtures.py

TensorFlow 2.15 still has the ``tf.compat.v1.layers`` that musicnn 0.1.0 uses, so its code runs
unpatched. librosa 0.8.1 is the last release whose STFT default is ``pad_mode="reflect"`` (the
models were trained and released with librosa 0.6-0.7, which pad that way; from 0.9 librosa pads
with zeros, which changes the first and last frame); the clips are written at 16 kHz so
``librosa.load(sr=16000)`` does not resample and the reference does not depend on a resampler.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SR = 16000
CLIPS = ("melody", "drums", "chords")
MODELS = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "musicnn" / "reference.npz"


def _tone(freq: np.ndarray | float, n: int, n_harm: int, sr: int = SR) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(freq, (n,))) / sr
    return sum(np.sin(k * phase) / k for k in range(1, n_harm + 1))


def _env(n: int, attack: float, decay: float, sr: int = SR) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def synthesize_clips() -> dict[str, np.ndarray]:
    """Three deterministic 16 kHz float32 clips (peak 0.5).

    - ``melody`` (6.5 s, 2 patches): harmonic notes of a pentatonic line at 120 bpm over a soft
      noise floor;
    - ``drums`` (4.0 s, 1 patch + remainder): kick, snare, hi-hat and a bass line at 100 bpm;
    - ``chords`` (3.2 s, 1 patch): distorted power chords with vibrato, rock-like.
    """
    rs = np.random.RandomState(20190705)
    clips = {}

    n = int(6.5 * SR)
    y = np.zeros(n)
    notes = [220.0, 247.5, 277.2, 330.0, 370.0, 440.0, 370.0, 330.0, 277.2, 247.5, 220.0, 165.0]
    notes.append(196.0)
    step = SR // 2
    for i, f in enumerate(notes):
        start = i * step
        m = min(step + SR // 4, n - start)
        if m <= 0:
            break
        y[start : start + m] += _tone(f, m, 8) * _env(m, 0.01, 0.4)
    y += 0.02 * rs.randn(n)
    clips["melody"] = y

    n = 4 * SR
    y = np.zeros(n)
    beat = int(0.6 * SR)
    for i, start in enumerate(range(0, n, beat)):
        m = min(beat, n - start)
        t = np.arange(m) / SR
        sweep = 50 * t + 100 * 0.05 * (1 - np.exp(-t / 0.05))  # 150 Hz falling to 50 Hz
        y[start : start + m] += np.sin(2 * np.pi * sweep) * np.exp(-t / 0.15)
        if i % 2:
            y[start : start + m] += 0.5 * rs.randn(m) * np.exp(-t / 0.08)
        for h in (0, beat // 2):
            if start + h < n:
                k = min(SR // 20, n - start - h)
                y[start + h : start + h + k] += (
                    0.15 * np.diff(rs.randn(k + 1)) * np.exp(-np.arange(k) / SR / 0.01)
                )
        bass_f = (55.0, 65.4, 73.4, 49.0)[i % 4]
        y[start : start + m] += 0.4 * _tone(bass_f, m, 3) * _env(m, 0.005, 0.3)
    clips["drums"] = y

    n = int(3.2 * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    for root, sl in ((82.4, slice(0, n // 2)), (110.0, slice(n // 2, n))):
        m = sl.stop - sl.start
        vib = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t[:m])
        chord = sum(_tone(root * r * vib, m, 12) for r in (1.0, 1.5, 2.0))
        y[sl] = np.tanh(3.0 * chord) * _env(m, 0.005, 2.0)
    y += 0.05 * rs.randn(n)
    clips["chords"] = y

    return {k: (0.5 * v / np.max(np.abs(v))).astype(np.float32) for k, v in clips.items()}


def main() -> None:
    import librosa
    import soundfile as sf
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import extractor as mx

    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, y in synthesize_clips().items():
            path = str(Path(tmp) / f"{name}.wav")
            sf.write(path, y, SR, subtype="FLOAT")
            _, rep = mx.batch_data(path, 187, 187)
            audio, _ = librosa.load(path, sr=config.SR)
            assert np.array_equal(audio, y)
            mel16 = librosa.feature.melspectrogram(
                y=audio,
                sr=SR,
                hop_length=config.FFT_HOP,
                n_fft=config.FFT_SIZE,
                n_mels=config.N_MELS,
            ).T.astype(np.float16)
            assert np.array_equal(np.log10(10000 * mel16 + 1), rep), "mel16 is not batch_data's"
            assert rep.dtype == np.float32  # numpy<2 promotes float16 * 10000 to float32
            arrays[f"{name}/mel16"] = mel16
            for model in MODELS:
                taggram_b1, _ = mx.extractor(path, model=model, extract_features=False)
                config.BATCH_SIZE = 1024  # whole clip in one batch: avoids the stale-feature bug
                try:
                    taggram, _, feats = mx.extractor(path, model=model, extract_features=True)
                finally:
                    config.BATCH_SIZE = 1
                np.testing.assert_allclose(taggram, taggram_b1, rtol=0, atol=1e-5)
                arrays[f"{name}/{model}/taggram"] = taggram.astype(np.float32)
                if "vgg" in model:
                    # the extractor squeezes (patches, 2, 1, 128), which drops the patch axis of a
                    # one-patch clip: restore it
                    pool5 = np.asarray(feats["pool5"], dtype=np.float32)
                    arrays[f"{name}/{model}/pool5"] = pool5.reshape(len(taggram), 2, 128)
                else:
                    for key in ("penultimate", "mean_pool", "max_pool"):
                        arrays[f"{name}/{model}/{key}"] = np.asarray(feats[key], dtype=np.float32)
                print(name, model, taggram.shape, file=sys.stderr)
    meta = {
        "tensorflow": tf.__version__,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "musicnn": "0.1.0",
        "clips": list(CLIPS),
        "models": list(MODELS),
        "sr": SR,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
