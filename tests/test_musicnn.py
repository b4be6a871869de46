"""The musicnn port: checkpoint reader, PyTorch network and front end against the original.

Reference outputs were produced with the original TensorFlow implementation (musicnn 0.1.0,
TensorFlow 2.15, librosa 0.8.1) by ``bench/make_musicnn_fixtures.py``, on clips that script
synthesizes deterministically; see its docstring. Tolerances: the network on the reference input
matches to ``atol=1e-4`` (observed <= 1.5e-5); the front end must reproduce the float16 mel
bit for bit on >= 99.9 % of the bins and within one float16 rounding step elsewhere.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")
pytest.importorskip("musicnn", reason="needs the weights: pip install --no-deps musicnn==0.1.0")

from featurelab.exceptions import ModelFileError, ParameterError  # noqa: E402
from featurelab.features import musicnn as mn  # noqa: E402
from featurelab.features.musicnn import _checkpoint, _frontend, _weights  # noqa: E402

pytestmark = pytest.mark.nn

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "musicnn" / "reference.npz"
MODELS = ("MSD_musicnn", "MTT_musicnn")
ATOL = 1e-4


def _load_maker():
    spec = importlib.util.spec_from_file_location(
        "make_musicnn_fixtures", ROOT / "bench" / "make_musicnn_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def _cache_in_tmp(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEATURELAB_CACHE", str(tmp_path_factory.mktemp("flcache")))
        yield


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="module")
def clips(ref):
    clips = _load_maker().synthesize_clips()
    meta = json.loads(str(ref["meta"]))
    assert list(clips) == meta["clips"]
    return clips


def _net_layers(model, x):
    with torch.inference_mode():
        out = mn.load_musicnn(model).layers(torch.from_numpy(x))
    return {k: v.numpy() for k, v in out.items()}


# --- checkpoint reader ------------------------------------------------------------------------


def test_checkpoint_lists_all_variables():
    variables = _checkpoint.checkpoint_variables(f"{_weights.weights_dir('MSD_musicnn')}/")
    assert len(variables) == 150  # 64 inference variables, Adam slots, 2 beta powers
    assert variables["conv2d/kernel"] == ((7, 38, 1, 204), "<f4")
    assert variables["conv2d_1/kernel"] == ((7, 67, 1, 204), "<f4")
    assert variables["dense/kernel"] == ((1506, 200), "<f4")
    assert variables["dense_1/kernel"] == ((200, 50), "<f4")


def test_load_weights_converts_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATURELAB_CACHE", str(tmp_path))
    weights = mn.load_weights("MTT_musicnn")  # reads the checkpoint, verifies CRC32C, writes .npz
    cached = list((tmp_path / "musicnn").glob("MTT_musicnn-*.npz"))
    assert len(cached) == 1
    again = mn.load_weights("MTT_musicnn")
    assert set(again) == set(weights) and len(weights) == 64
    for name in weights:
        np.testing.assert_array_equal(again[name], weights[name])
    # a corrupt cache file is ignored and rewritten
    cached[0].write_bytes(b"not a zip file")
    repaired = mn.load_weights("MTT_musicnn")
    np.testing.assert_array_equal(repaired["dense/kernel"], weights["dense/kernel"])
    assert cached[0].stat().st_size > 1_000_000


def test_checkpoint_reader_rejects_corruption(tmp_path):
    src = _weights.weights_dir("MSD_musicnn")
    (tmp_path / "bad.index").write_bytes(b"\0" * 64)
    with pytest.raises(ModelFileError, match="bad magic"):
        _checkpoint.read_checkpoint(tmp_path / "bad")
    index = (src / ".index").read_bytes()
    data = bytearray((src / ".data-00000-of-00001").read_bytes())
    (tmp_path / "ck.index").write_bytes(index)
    data[100:104] = b"\xff\xff\xff\xff"  # inside the first tensor's bytes
    (tmp_path / "ck.data-00000-of-00001").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        _checkpoint.read_checkpoint(tmp_path / "ck")
    with pytest.raises(ModelFileError, match="Cannot read"):
        _checkpoint.read_checkpoint(tmp_path / "missing")


# --- the port against the original TensorFlow outputs -----------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip", ["melody", "drums", "chords"])
def test_network_matches_tensorflow(ref, model, clip):
    mel16 = ref[f"{clip}/mel16"]
    x = _frontend.patches(np.log10(10000 * mel16.astype(np.float32) + 1))
    out = _net_layers(model, x)
    expected_tags = ref[f"{clip}/{model}/taggram"]
    assert out["logits"].shape == expected_tags.shape == (mel16.shape[0] // 187, 50)
    assert_allclose(1 / (1 + np.exp(-out["logits"])), expected_tags, rtol=0, atol=ATOL)
    for key in ("penultimate", "mean_pool", "max_pool"):
        assert_allclose(out[key], ref[f"{clip}/{model}/{key}"], rtol=ATOL, atol=ATOL, err_msg=key)


@pytest.mark.parametrize("clip", ["melody", "drums", "chords"])
def test_front_end_matches_original(ref, clips, clip):
    expected = ref[f"{clip}/mel16"]
    mel16 = _frontend.mel_power(_frontend.to_16k(clips[clip], 16000))
    assert mel16.dtype == np.float16 and mel16.shape == expected.shape
    exact = mel16 == expected
    assert exact.mean() >= 0.999
    # elsewhere at most one float16 rounding step apart
    assert_allclose(
        mel16[~exact].astype(np.float64), expected[~exact].astype(np.float64), rtol=2.0**-10, atol=2.0**-24
    )


@pytest.mark.parametrize("model", MODELS)
def test_end_to_end_matches_tensorflow(ref, clips, model):
    for clip, y in clips.items():
        taggram, emb = mn.musicnn_predict(y, 16000, model=model, batch_size=1)
        # 1e-3: a float16 rounding flip in the mel (platform FFT differences) moves outputs ~1e-4
        assert_allclose(taggram, ref[f"{clip}/{model}/taggram"], rtol=0, atol=1e-3)
        assert_allclose(emb, ref[f"{clip}/{model}/penultimate"], rtol=1e-3, atol=1e-3)


def test_feature_set_summarises_patches(ref, clips):
    feats = mn.musicnn_features(clips["melody"], 16000)
    columns = mn.musicnn_columns()
    assert list(feats) == columns and len(columns) == 450
    assert columns[:3] == ["musicnn_emb000_mean", "musicnn_emb000_std", "musicnn_emb001_mean"]
    assert "musicnn_tag_rock" in feats and "musicnn_tag_hip_hop" in feats
    emb = ref["melody/MSD_musicnn/penultimate"]
    tags = ref["melody/MSD_musicnn/taggram"]
    values = np.array(list(feats.values()))
    assert_allclose(values[0:400:2], emb.mean(axis=0), atol=1e-3)
    assert_allclose(values[1:400:2], emb.std(axis=0), atol=1e-3)
    assert_allclose(values[400:], tags.mean(axis=0), atol=1e-3)


def test_mtt_columns_are_distinct_from_msd():
    mtt = mn.musicnn_columns("MTT_musicnn")
    assert len(mtt) == 450 and not set(mtt) & set(mn.musicnn_columns())
    assert "musicnn_mtt_tag_no_vocals" in mtt and "musicnn_mtt_tag_no_vocal" in mtt


def test_batch_equals_single(clips):
    sr = 16000
    Y = np.stack([clips["melody"][: 3 * sr + 1000], clips["melody"][2 * sr : 5 * sr + 1000]])
    batch = mn.musicnn_mtt_features_batch(Y, sr)
    for row, feats in zip(Y, batch, strict=True):
        single = mn.musicnn_mtt_features(row, sr)
        assert list(single) == list(feats)
        assert_allclose(list(feats.values()), list(single.values()), rtol=1e-5, atol=1e-5)
    assert mn.musicnn_features_batch(np.zeros((0, 100), np.float32), sr) == []


def test_resamples_to_16k(ref, clips):
    import librosa

    y22 = librosa.resample(clips["melody"], orig_sr=16000, target_sr=22050, res_type="soxr_hq")
    taggram, emb = mn.musicnn_predict(y22, 22050)
    # the same as resampling by hand with soxr_hq (what librosa.load(sr=16000) does)
    y16 = librosa.resample(y22, orig_sr=22050, target_sr=16000, res_type="soxr_hq")
    by_hand, emb_by_hand = mn.musicnn_predict(y16, 16000)
    assert_allclose(taggram, by_hand, atol=1e-5)
    assert_allclose(emb, emb_by_hand, atol=1e-4)
    # close to the 16 kHz reference (the round trip only loses a little near 8 kHz) ...
    expected = ref["melody/MSD_musicnn/taggram"]
    assert np.abs(taggram - expected).max() < 0.05
    # ... while ignoring the sample rate shifts the spectrum and clearly changes the tags
    wrong, _ = mn.musicnn_predict(y22, 16000)
    assert np.abs(wrong[: len(expected)] - expected).max() > 0.15


@pytest.mark.parametrize("n", [1, 511, 40000])
def test_short_signals_are_repeat_padded(n):
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(n)).astype(np.float32)
    feats = mn.musicnn_features(y, 16000)
    values = np.array(list(feats.values()))
    assert len(values) == 450 and np.all(np.isfinite(values))
    assert np.all(values[1:400:2] == 0)  # one patch: zero std
    rep = _frontend.log_mel(_frontend.to_16k(y, 16000))
    x = _frontend.patches(rep)
    assert x.shape == (1, 187, 96)
    assert_allclose(x[0, : rep.shape[0]], rep)  # starts with the signal, then repeats it


def test_silence_and_loud_input_are_finite():
    for y in (np.zeros(4 * 22050, np.float32), np.full(4 * 22050, 1e4, np.float32)):
        values = np.array(list(mn.musicnn_features(y, 22050).values()))
        assert np.all(np.isfinite(values))


def test_patching_drops_the_remainder():
    rep = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    x = _frontend.patches(rep)
    assert x.shape == (2, 187, 96)
    assert_allclose(x[1], rep[187:374])


def test_threads_are_restored(clips):
    before = torch.get_num_threads()
    mn.musicnn_predict(clips["chords"], 16000, n_threads=1)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sr": 0}, "sr must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"n_threads": 0}, "n_threads must be a positive integer"),
        ({"model": "MSD_vgg"}, "model must be one of MSD_musicnn, MTT_musicnn"),
    ],
)
def test_invalid_arguments(kwargs, match):
    args = {"sr": 16000, **kwargs}
    with pytest.raises(ParameterError, match=match):
        mn.musicnn_predict(np.zeros(16000, np.float32), **args)


def test_empty_signal_is_rejected():
    with pytest.raises(ParameterError, match="non-empty 1-D"):
        mn.musicnn_features(np.zeros(0, np.float32), 16000)


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(_weights, "find_spec", lambda name: None)
    with pytest.raises(ParameterError, match=r"pip install --no-deps musicnn==0\.1\.0"):
        _weights.weights_dir("MSD_musicnn")


def test_import_does_not_load_torch():
    import subprocess
    import sys

    code = (
        "import sys, featurelab.features.musicnn as m; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
