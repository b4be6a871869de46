"""Tests of the non-default feature sets: pyaudioanalysis (featurelab.features.pyaa) and extras."""

from __future__ import annotations

import subprocess
import sys
import warnings

import librosa
import numpy as np
import pytest
from numpy.testing import assert_allclose

from featurelab.exceptions import ParameterError
from featurelab.features import extras, get_feature_set
from featurelab.features.pyaa import (
    _import_pyaudioanalysis,
    pyaudioanalysis_columns,
    pyaudioanalysis_features,
)
from featurelab.features.schema import GTZAN_FEATURE_COLUMNS, NON_FEATURE_COLUMNS

SR = 22050
DURATION = 2.0


def _mv_names(bases):
    return [f"{base}_{stat}" for base in bases for stat in ("mean", "var")]


#: name -> (function, expected columns in order)
EXTRA_SETS = {
    "contrast": (extras.contrast_features, _mv_names(f"contrast{i}" for i in range(1, 8))),
    "tonnetz": (extras.tonnetz_features, _mv_names(f"tonnetz{i}" for i in range(1, 7))),
    "mfcc_delta": (
        extras.mfcc_delta_features,
        _mv_names(f"mfcc{i}_{k}" for i in range(1, 21) for k in ("delta", "delta2")),
    ),
    "spectral_flatness": (extras.spectral_flatness_features, _mv_names(["spectral_flatness"])),
    "onset": (
        extras.onset_features,
        [*_mv_names(["onset_strength"]), "onset_rate"],
    ),
}


def _time(duration=DURATION):
    return np.arange(int(duration * SR)) / SR


def _sine(freq=440.0, amplitude=0.5, duration=DURATION):
    return (amplitude * np.sin(2 * np.pi * freq * _time(duration))).astype(np.float32)


def _signals():
    rng = np.random.default_rng(0)
    return {
        "sine": _sine(),
        "noise": (0.1 * rng.standard_normal(int(DURATION * SR))).astype(np.float32),
        "chirp": librosa.chirp(fmin=110, fmax=4000, sr=SR, duration=DURATION).astype(np.float32) * 0.5,
        "silence": np.zeros(int(DURATION * SR), dtype=np.float32),
        "short100": (0.1 * rng.standard_normal(100)).astype(np.float32),
    }


SIGNALS = _signals()


@pytest.fixture(scope="module")
def extras_results():
    """Every extras set on every synthetic signal, computed once."""
    return {(name, sig): func(y, SR) for name, (func, _) in EXTRA_SETS.items() for sig, y in SIGNALS.items()}


def _assert_finite_row(row, expected_keys):
    assert list(row) == expected_keys
    values = np.array(list(row.values()))
    assert values.dtype == np.float64
    assert np.isfinite(values).all(), {k: v for k, v in row.items() if not np.isfinite(v)}
    assert all(type(v) is float for v in row.values())


# ---------------------------------------------------------------------- shape, keys, finiteness


@pytest.mark.parametrize("signal", list(SIGNALS))
@pytest.mark.parametrize("name", list(EXTRA_SETS))
def test_extras_finite_with_stable_keys(extras_results, name, signal):
    _assert_finite_row(extras_results[(name, signal)], EXTRA_SETS[name][1])


@pytest.mark.parametrize("signal", ["sine", "noise", "chirp", "silence"])
def test_pyaa_finite_with_stable_keys(signal):
    row = pyaudioanalysis_features(SIGNALS[signal], SR)
    _assert_finite_row(row, pyaudioanalysis_columns())
    assert len(row) == 136


def test_pyaa_too_short_signal_raises():
    with pytest.raises(ParameterError, match=r"signal too short .* \(100 samples < 1102\)"):
        pyaudioanalysis_features(SIGNALS["short100"], SR)


def test_pyaa_one_window_signal():
    y = SIGNALS["noise"][: round(0.05 * SR)]
    _assert_finite_row(pyaudioanalysis_features(y, SR), pyaudioanalysis_columns())


def test_column_names_valid_and_unique_across_sets():
    columns = list(GTZAN_FEATURE_COLUMNS) + pyaudioanalysis_columns()
    for _, expected in EXTRA_SETS.values():
        columns += expected
    assert all(c.isidentifier() and c == c.lower() for c in columns)
    assert len(set(columns)) == len(columns)
    assert not set(columns) & set(NON_FEATURE_COLUMNS)
    assert all(c.startswith("pyaa_") for c in pyaudioanalysis_columns())


# --------------------------------------------------------------------------- extras known answers


def test_contrast_peaks_in_band_of_sine():
    # bands: [0, 200], [200, 400], [400, 800], [800, 1600], ...: 1 kHz lies in band 4
    row = extras.contrast_features(_sine(1000.0), SR)
    means = np.array([row[f"contrast{i}_mean"] for i in range(1, 8)])
    assert np.argmax(means) == 3
    assert means[3] > 2 * np.delete(means, 3).max()


def test_tonnetz_of_pure_tone_matches_pitch_class_vector():
    # A4 is pitch class 9; tonnetz of a one-hot chroma is column 9 of librosa's projection matrix
    row = extras.tonnetz_features(_sine(440.0), SR)
    c = 9
    radius = np.array([1, 1, 1, 1, 0.5, 0.5])
    angle = np.pi * np.array([7 / 6, 7 / 6, 3 / 2, 3 / 2, 2 / 3, 2 / 3]) * c
    expected = radius * np.where(np.arange(6) % 2 == 0, np.sin(angle), np.cos(angle))
    got = np.array([row[f"tonnetz{i}_mean"] for i in range(1, 7)])
    assert_allclose(got, expected, atol=0.1)


def test_mfcc_delta_of_exponential_gain_ramp():
    # every mel band rises by `slope` dB/s, so MFCC 1 (sqrt(n_mels) x mean dB) rises linearly and
    # the other coefficients stay put
    slope = 6.0
    t = _time()
    rng = np.random.default_rng(1)
    y = (0.05 * 10 ** (slope * t / 20) * rng.standard_normal(t.size)).astype(np.float32)
    row = extras.mfcc_delta_features(y, SR)
    expected = slope * np.sqrt(128) * extras.HOP_LENGTH / SR  # per frame
    assert_allclose(row["mfcc1_delta_mean"], expected, rtol=0.05)
    others = [abs(v) for k, v in row.items() if k.endswith("_mean") and k != "mfcc1_delta_mean"]
    assert max(others) < 0.1 * expected


def test_mfcc_delta_zero_for_silent_and_single_frame():
    row = extras.mfcc_delta_features(SIGNALS["silence"], SR)  # constant MFCCs
    assert_allclose(list(row.values()), 0.0, atol=1e-5)
    short = extras.mfcc_delta_features(SIGNALS["short100"], SR)  # 1 frame: no derivative
    assert all(v == 0.0 for v in short.values())


def test_mfcc_delta_short_signal_uses_narrower_window():
    y = SIGNALS["noise"][:2048]  # 5 frames < 9
    row = extras.mfcc_delta_features(y, SR)
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, pad_mode="reflect")
    assert mfcc.shape[1] == 5
    d1 = librosa.feature.delta(mfcc, width=5).astype(np.float64)
    assert_allclose(row["mfcc3_delta_mean"], d1[2].mean(), rtol=1e-6)
    assert_allclose(row["mfcc3_delta_var"], d1[2].var(), rtol=1e-6)


def test_flatness_noise_above_sine_and_silence_flat():
    noise = extras.spectral_flatness_features(SIGNALS["noise"], SR)["spectral_flatness_mean"]
    sine = extras.spectral_flatness_features(SIGNALS["sine"], SR)["spectral_flatness_mean"]
    silence = extras.spectral_flatness_features(SIGNALS["silence"], SR)
    assert noise > 100 * sine
    assert_allclose(silence["spectral_flatness_mean"], 1.0, rtol=1e-5)
    assert_allclose(silence["spectral_flatness_var"], 0.0, atol=1e-10)


@pytest.mark.parametrize("rate", [2.0, 5.0])
def test_onset_rate_of_click_train(rate):
    duration = 4.0
    y = np.zeros(int(duration * SR), dtype=np.float32)
    times = np.arange(0.25, duration - 0.1, 1 / rate)
    y[np.round(times * SR).astype(int)] = 1.0
    row = extras.onset_features(y, SR)
    assert abs(row["onset_rate"] - len(times) / duration) <= 1 / duration  # one miss at most


def test_onset_silence_is_zero():
    row = extras.onset_features(SIGNALS["silence"], SR)
    assert row == {"onset_strength_mean": 0.0, "onset_strength_var": 0.0, "onset_rate": 0.0}


# ---------------------------------------------------------------------- extras vs plain librosa


def _reference(name, y, sr):
    """The straightforward librosa call for each set."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "n_fft too large" on the 100-sample signal
        if name == "contrast":
            rows = librosa.feature.spectral_contrast(y=y, sr=sr, pad_mode="reflect")
            return _mv_rows([f"contrast{i}" for i in range(1, 8)], rows)
        if name == "tonnetz":
            rows = librosa.feature.tonnetz(y=y, sr=sr)
            return _mv_rows([f"tonnetz{i}" for i in range(1, 7)], rows)
        if name == "mfcc_delta":
            mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, pad_mode="reflect")
            out = {}
            for i in range(20):
                for kind, order in (("delta", 1), ("delta2", 2)):
                    d = librosa.feature.delta(mfcc, order=order)[i]
                    out.update(_mv_rows([f"mfcc{i + 1}_{kind}"], d[None]))
            return out
        if name == "spectral_flatness":
            flat = librosa.feature.spectral_flatness(y=y, pad_mode="reflect")
            return _mv_rows(["spectral_flatness"], flat)
        if name == "onset":
            env = librosa.onset.onset_strength(y=y, sr=sr, pad_mode="reflect")
            out = _mv_rows(["onset_strength"], env[None])
            onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr)
            out["onset_rate"] = len(onsets) * sr / len(y)
            return out
    raise AssertionError(name)


def _mv_rows(names, rows):
    out = {}
    for name, row in zip(names, np.asarray(rows, dtype=np.float64), strict=True):
        out[f"{name}_mean"] = np.mean(row)
        out[f"{name}_var"] = np.var(row)
    return out


@pytest.mark.parametrize(
    ("name", "signal"),
    [
        (name, signal)
        for name in EXTRA_SETS
        for signal in ("noise", "chirp", "short100")
        # librosa.feature.delta needs >= 9 frames: see the mfcc_delta fallback tests
        if (name, signal) != ("mfcc_delta", "short100")
    ],
)
def test_extras_equal_direct_librosa(extras_results, name, signal):
    got = extras_results[(name, signal)]
    ref = _reference(name, SIGNALS[signal], SR)
    assert list(got) == list(ref)
    assert_allclose(list(got.values()), list(ref.values()), rtol=1e-6, atol=1e-12)


# --------------------------------------------------------------------------- pyaudioanalysis


def test_pyaa_zcr_of_sine():
    freq = 441.0
    row = pyaudioanalysis_features(_sine(freq), SR)
    assert_allclose(row["pyaa_zcr_mean"], 2 * freq / SR, rtol=0.02)
    assert row["pyaa_zcr_std"] < 1e-3


@pytest.mark.parametrize("amplitude", [0.01, 0.9])
def test_pyaa_energy_is_relative_to_peak(amplitude):
    # pyAudioAnalysis peak-normalises the signal: a sine has energy 1/2, a square wave 1
    sine = pyaudioanalysis_features(_sine(441.0, amplitude), SR)
    assert_allclose(sine["pyaa_energy_mean"], 0.5, rtol=0.01)
    square = amplitude * np.sign(_sine(441.0)).astype(np.float32)
    assert_allclose(pyaudioanalysis_features(square, SR)["pyaa_energy_mean"], 1.0, rtol=0.01)


def test_pyaa_gain_invariant():
    y = SIGNALS["chirp"]
    # atol: float32 rounding of 0.05 * y moves the log-spectrum MFCCs by ~1e-8
    assert_allclose(
        list(pyaudioanalysis_features(0.05 * y, SR).values()),
        list(pyaudioanalysis_features(y, SR).values()),
        rtol=1e-6,
        atol=1e-6,
    )


def test_pyaa_silence_values():
    row = pyaudioanalysis_features(SIGNALS["silence"], SR)
    for base in ("zcr", "energy", "energy_entropy", "spectral_centroid", "spectral_flux"):
        assert row[f"pyaa_{base}_mean"] == 0.0
    assert_allclose(row["pyaa_mfcc_1_std"], 0.0, atol=1e-12)  # constant log10(eps) spectrum


def test_pyaa_equals_direct_call():
    MidTermFeatures, _ = _import_pyaudioanalysis()  # quietly (import-time warnings)
    y = SIGNALS["noise"][: int(1.6 * SR)]
    mid, _, names = MidTermFeatures.mid_feature_extraction(
        y.astype(np.float64) * 2**15, SR, round(1.0 * SR), round(0.5 * SR), 1102, 551
    )
    row = pyaudioanalysis_features(y, SR)
    assert [n.replace(" ", "_") for n in names] == [c.removeprefix("pyaa_") for c in row]
    assert_allclose(list(row.values()), mid.mean(axis=1), rtol=1e-12)


def test_pyaa_default_mid_window_on_short_signal():
    y = SIGNALS["noise"][: int(0.3 * SR)]
    assert_allclose(
        list(pyaudioanalysis_features(y, SR).values()),
        list(pyaudioanalysis_features(y, SR, mid_window=0.3, mid_step=0.15).values()),
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"short_window": 0.0}, "short_window must be a positive number"),
        ({"short_step": -1}, "short_step must be a positive number"),
        ({"mid_window": 0.01}, "mid_window must be at least short_window"),
        ({"mid_step": 0.001}, "mid_step must be at least short_step"),
        ({"short_window": 0.005, "short_step": 0.0025}, "for pyAudioAnalysis's chroma"),
    ],
)
def test_pyaa_bad_parameters(params, match):
    with pytest.raises(ParameterError, match=match):
        pyaudioanalysis_features(SIGNALS["noise"], SR, **params)


def test_pyaa_quiet_and_restores_sys_path(monkeypatch, capsys):
    _import_pyaudioanalysis()
    pyAudioAnalysis = sys.modules["pyAudioAnalysis"]
    # force MidTermFeatures to be imported again: its import inserts site-packages in sys.path
    monkeypatch.delitem(sys.modules, "pyAudioAnalysis.MidTermFeatures")
    monkeypatch.delattr(pyAudioAnalysis, "MidTermFeatures")
    before = list(sys.path)
    pyaudioanalysis_features(SIGNALS["sine"], SR)
    assert sys.path == before
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- registry


def test_pyaa_registered():
    feature_set = get_feature_set("pyaudioanalysis")
    assert feature_set.load() is pyaudioanalysis_features
    assert list(feature_set(SIGNALS["sine"], SR)) == pyaudioanalysis_columns()


@pytest.mark.parametrize("name", list(EXTRA_SETS))
def test_extras_registered(name):
    func, columns = EXTRA_SETS[name]
    feature_set = get_feature_set(name)
    assert feature_set.load() is func
    assert list(feature_set(SIGNALS["noise"], SR)) == columns


def test_pyaa_imports_without_aifc_as_on_python_313():
    """Python 3.13 removed aifc, which pyAudioAnalysis imports: the stand-in lasts for that import only."""
    code = (
        "import sys\n"
        "sys.modules['aifc'] = None  # 'import aifc' raises ImportError, as on Python 3.13\n"
        "import numpy as np\n"
        "from featurelab.features.pyaa import pyaudioanalysis_features\n"
        "y = (0.1 * np.random.default_rng(0).standard_normal(22050)).astype('float32')\n"
        "row = pyaudioanalysis_features(y, 22050)\n"
        "assert len(row) == 136, len(row)\n"
        "assert sys.modules['aifc'] is None, 'the stand-in must not outlive the import'\n"
        "import pyAudioAnalysis.audioBasicIO as io\n"
        "try:\n"
        "    io.aifc.open('x.aiff')\n"
        "except OSError as error:\n"
        "    assert 'not available' in str(error)\n"
        "else:\n"
        "    raise AssertionError('the stand-in must refuse to read AIFF')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
