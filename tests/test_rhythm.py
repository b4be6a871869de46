"""featurelab.features.rhythm and .cepstrum equal librosa 0.11 bit for bit, without importing it."""

import functools
import subprocess
import sys

import numpy as np
import pytest

from featurelab.exceptions import ParameterError
from featurelab.features import cepstrum, filters, rhythm

librosa = pytest.importorskip("librosa")
scipy_signal = pytest.importorskip("scipy.signal")

SR, HOP = 22050, 512
WIN = int(librosa.time_to_frames(8.0, sr=SR, hop_length=HOP).item())  # gtzan's tempogram window


def assert_identical(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


@functools.cache
def _clicks(bpm, seconds=12.0):
    """Log-mel spectrogram (float32, as gtzan's) of a click track at ``bpm`` plus faint noise."""
    rng = np.random.default_rng(int(bpm))
    n = int(seconds * SR)
    y = librosa.clicks(times=np.arange(0.1, seconds, 60.0 / bpm), sr=SR, length=n).astype(np.float32)
    y += 1e-3 * rng.standard_normal(n).astype(np.float32)
    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP))


def _mels():
    """Mel power spectrograms: noise, silence, very short and long (beyond librosa's 256 KiB blocks)."""
    rng = np.random.default_rng(0)
    shapes = {"noise": (128, 300), "one": (128, 1), "two": (128, 2), "three": (128, 3), "long": (128, 5000)}
    out = {name: (rng.random(shape) ** 4 * 100.0).astype(np.float32) for name, shape in shapes.items()}
    out["silence"] = np.zeros((128, 200), dtype=np.float32)
    out["noise64"] = out["noise"].astype(np.float64)
    out["fortran"] = np.asfortranarray(out["noise"])
    out["strided"] = out["long"][:, 100:900]  # a block view, as gtzan's in-place pass uses
    return out


MELS = _mels()
TEMPI = (72.0, 120.0, 185.0)


@pytest.fixture(scope="module")
def click_envelopes():
    return {
        bpm: librosa.onset.onset_strength(S=_clicks(bpm), sr=SR, hop_length=HOP, aggregate=np.median)
        for bpm in TEMPI
    }


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 344, 383, 384, 2048])
def test_hann_window_is_scipys(n):
    assert_identical(filters.hann_window(n), scipy_signal.get_window("hann", n, fftbins=True))


@pytest.mark.parametrize("name", sorted(MELS))
@pytest.mark.parametrize("top_db", [80.0, None, 0.0])
def test_power_to_db(name, top_db):
    S = MELS[name]
    assert_identical(cepstrum.power_to_db(S, top_db=top_db), librosa.power_to_db(S, top_db=top_db))


@pytest.mark.parametrize("ref", [np.max, 3.0, -0.5])
def test_power_to_db_reference(ref):
    S = MELS["noise"]
    assert_identical(cepstrum.power_to_db(S, ref=ref, amin=1e-5), librosa.power_to_db(S, ref=ref, amin=1e-5))


@pytest.mark.parametrize("name", sorted(MELS))
@pytest.mark.parametrize("n_mfcc", [20, 1, 128])
def test_mfcc(name, n_mfcc):
    S = librosa.power_to_db(MELS[name])
    ours, theirs = cepstrum.mfcc(S, n_mfcc=n_mfcc), librosa.feature.mfcc(S=S, n_mfcc=n_mfcc)
    assert_identical(ours, theirs)
    assert ours.strides == theirs.strides  # a view of the full DCT, as librosa's


@pytest.mark.parametrize("name", sorted(MELS))
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("aggregate", [np.median, np.mean, None])
def test_onset_strength(name, center, aggregate):
    S = librosa.power_to_db(MELS[name])
    kwargs = dict(S=S, sr=SR, hop_length=HOP, aggregate=aggregate, center=center)
    assert_identical(rhythm.onset_strength(**kwargs), librosa.onset.onset_strength(**kwargs))


@pytest.mark.parametrize("bpm", TEMPI)
def test_onset_strength_of_clicks(bpm):
    S = _clicks(bpm)
    for lag in (1, 2):
        kwargs = dict(S=S, sr=SR, hop_length=HOP, aggregate=np.median, lag=lag)
        assert_identical(rhythm.onset_strength(**kwargs), librosa.onset.onset_strength(**kwargs))


def _envelopes(click_envelopes):
    rng = np.random.default_rng(1)
    envs = {f"clicks{bpm:g}": env for bpm, env in click_envelopes.items()}
    envs["noise"] = rng.random(700).astype(np.float32)
    envs["noise64"] = rng.random(500)
    envs["zeros"] = np.zeros(400, dtype=np.float32)
    envs["sparse"] = np.zeros(450, dtype=np.float32)
    envs["sparse"][[10, 200]] = 1.0  # windows of zeros among non-zero ones: normalize's threshold
    envs["one"], envs["two"], envs["three"] = (rng.random(k).astype(np.float32) for k in (1, 2, 3))
    envs["long"] = rng.random(3000).astype(np.float32)
    return envs


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("win_length", [WIN, 384, 7, 1])
def test_tempogram_and_tempo(click_envelopes, center, win_length):
    for env in _envelopes(click_envelopes).values():
        if not center and env.shape[-1] < win_length:
            continue
        kwargs = dict(onset_envelope=env, sr=SR, hop_length=HOP, win_length=win_length, center=center)
        ours, theirs = rhythm.tempogram(**kwargs), librosa.feature.tempogram(**kwargs)
        assert_identical(ours, theirs)
        for aggregate in (np.mean, None):
            assert_identical(
                rhythm.tempo(tg=ours, sr=SR, hop_length=HOP, aggregate=aggregate),
                librosa.feature.tempo(tg=theirs, sr=SR, hop_length=HOP, aggregate=aggregate),
            )


def test_tempogram_unnormalized_and_batched(click_envelopes):
    env = np.stack([click_envelopes[bpm] for bpm in TEMPI])  # (3, n): leading axes broadcast
    for norm in (np.inf, None):
        kwargs = dict(onset_envelope=env, sr=SR, hop_length=HOP, win_length=WIN, norm=norm)
        assert_identical(rhythm.tempogram(**kwargs), librosa.feature.tempogram(**kwargs))


def test_gtzan_tempo_path(click_envelopes):
    """gtzan's ``_tempo``: uncentred tempogram of a ramp-padded envelope, then its frame average."""
    for bpm, env in click_envelopes.items():
        padded = np.pad(env, (WIN // 2, WIN // 2), mode="linear_ramp", end_values=[0, 0])
        kwargs = dict(onset_envelope=padded, sr=SR, hop_length=HOP, win_length=WIN, center=False)
        ours, theirs = rhythm.tempogram(**kwargs), librosa.feature.tempogram(**kwargs)
        assert_identical(ours, theirs)
        averaged = ours.sum(axis=-1, dtype=np.float64)[:, np.newaxis] / ours.shape[-1]
        estimate = rhythm.tempo(tg=averaged, sr=SR, hop_length=HOP)[0]
        assert estimate == librosa.feature.tempo(tg=averaged, sr=SR, hop_length=HOP)[0]
        found = float(rhythm.tempo(tg=ours, sr=SR, hop_length=HOP)[0])  # the prior may halve it
        assert any(found == pytest.approx(bpm * octave, rel=0.05) for octave in (0.5, 1.0)), found


@pytest.mark.parametrize("times", [8.0, 0.0, 3.7, np.array([0.5, 8.0, 30.0])])
@pytest.mark.parametrize("n_fft", [None, 2048])
def test_time_to_frames(times, n_fft):
    kwargs = dict(sr=SR, hop_length=HOP, n_fft=n_fft)
    assert_identical(rhythm.time_to_frames(times, **kwargs), librosa.time_to_frames(times, **kwargs))


@pytest.mark.parametrize("n_bins", [1, 2, WIN])
def test_tempo_frequencies(n_bins):
    kwargs = dict(hop_length=HOP, sr=SR)
    assert_identical(rhythm.tempo_frequencies(n_bins, **kwargs), librosa.tempo_frequencies(n_bins, **kwargs))


@pytest.mark.parametrize("max_size", [None, 1, 5, 10_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0])
def test_autocorrelate(max_size, dtype, axis):
    x = np.random.default_rng(2).random((6, 37)).astype(dtype)
    ours = rhythm.autocorrelate(x, max_size=max_size, axis=axis)
    theirs = librosa.autocorrelate(x, max_size=max_size, axis=axis)
    if dtype == np.float32 and int(librosa.__version__.split(".")[0]) >= 1:
        # librosa 1.0 (Python 3.13 here) transforms float32 input its own way: 1 ulp apart. The
        # engine's tempogram is float64 and its tables do not depend on the installed librosa.
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * float(np.abs(theirs).max()))
        return
    assert_identical(ours, theirs)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cepstrum.power_to_db(np.ones(3), amin=0.0), "amin must be strictly positive"),
        (lambda: cepstrum.power_to_db(np.ones(3), top_db=-1.0), "top_db must be non-negative"),
        (lambda: cepstrum.power_to_db(np.ones(3, dtype=complex)), "must be a real power spectrogram"),
        (lambda: cepstrum.mfcc(np.ones((4, 2)), n_mfcc=0), "n_mfcc must be a positive integer"),
        (lambda: rhythm.onset_strength(S=np.ones((4, 2)), lag=0), "lag must be a positive integer"),
        (lambda: rhythm.onset_strength(S=np.ones((4, 2)), aggregate=False), "aggregate must be a callable"),
        (lambda: rhythm.tempogram(onset_envelope=np.ones(9), win_length=0), "win_length must be a positive"),
        (lambda: rhythm.tempogram(onset_envelope=np.ones(9), norm=2.0), "norm must be np.inf or None"),
        (
            lambda: rhythm.tempogram(onset_envelope=np.ones(9), win_length=10, center=False),
            "too short",
        ),
        (lambda: rhythm.tempogram(onset_envelope=np.array([1.0, np.nan])), "must be finite"),
        (lambda: rhythm.tempo(tg=np.ones((4, 2)), start_bpm=0), "start_bpm must be strictly positive"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_import_is_light():
    code = (
        "import sys\n"
        "import featurelab.features.rhythm, featurelab.features.cepstrum\n"
        "heavy = ('librosa', 'scipy.signal', 'scipy.stats', 'scipy.ndimage', 'numba')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'librosa' or m.startswith(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
