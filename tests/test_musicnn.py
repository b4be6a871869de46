"""The musicnn port: checkpoint reader, PyTorch network and front end against the original.

Reference outputs were produced with the original TensorFlow implementation (musicnn 0.1.0,
TensorFlow 2.15, librosa 0.8.1) by ``bench/make_musicnn_fixtures.py``, on clips that script
synthesizes deterministically; see its docstring. Tolerances: the network on the reference input
matches to ``atol=1e-4`` (observed <= 1.5e-5 for musicnn; vgg: tags <= 7.8e-7, pool5 <= 8.9e-6);
the front end must reproduce the float16 mel bit for bit on >= 99.9 % of the bins and within one
float16 rounding step elsewhere.
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
MUSICNN_MODELS = ("MSD_musicnn", "MTT_musicnn")
VGG_MODELS = ("MSD_vgg", "MTT_vgg")
MODELS = MUSICNN_MODELS + VGG_MODELS
#: feature-set name -> (model, pool, number of columns)
SETS = {
    "musicnn": ("MSD_musicnn", ("mean", "std"), 450),
    "musicnn_mtt": ("MTT_musicnn", ("mean", "std"), 450),
    "musicnn_vgg": ("MSD_vgg", ("mean", "std"), 562),
    "musicnn_mtt_vgg": ("MTT_vgg", ("mean", "std"), 562),
    "musicnn_pooled": ("MSD_musicnn", ("mean", "std", "max"), 650),
    "musicnn_mtt_pooled": ("MTT_musicnn", ("mean", "std", "max"), 650),
    "musicnn_vgg_pooled": ("MSD_vgg", ("mean", "std", "max"), 818),
    "musicnn_mtt_vgg_pooled": ("MTT_vgg", ("mean", "std", "max"), 818),
}
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
    vgg = _checkpoint.checkpoint_variables(f"{_weights.weights_dir('MTT_vgg')}/")
    assert len(vgg) == 86  # 36 inference variables, Adam slots, 2 beta powers
    assert vgg["1CNN/kernel"] == ((3, 3, 1, 128), "<f4")
    assert vgg["5CNN/kernel"] == ((3, 3, 128, 128), "<f4")
    assert vgg["dense/kernel"] == ((256, 50), "<f4")


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
    assert len(mn.load_weights("MSD_vgg")) == 36


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


def _layers_with_checked_tags(ref, model, clip):
    """The port's layers on the reference mel of ``clip``, after checking its tags."""
    mel16 = ref[f"{clip}/mel16"]
    x = _frontend.patches(np.log10(10000 * mel16.astype(np.float32) + 1))
    out = _net_layers(model, x)
    expected_tags = ref[f"{clip}/{model}/taggram"]
    assert out["logits"].shape == expected_tags.shape == (mel16.shape[0] // 187, 50)
    assert_allclose(1 / (1 + np.exp(-out["logits"])), expected_tags, rtol=0, atol=ATOL)
    return out


@pytest.mark.parametrize("model", MUSICNN_MODELS)
@pytest.mark.parametrize("clip", ["melody", "drums", "chords"])
def test_network_matches_tensorflow(ref, model, clip):
    out = _layers_with_checked_tags(ref, model, clip)
    for key in ("penultimate", "mean_pool", "max_pool"):
        assert_allclose(out[key], ref[f"{clip}/{model}/{key}"], rtol=ATOL, atol=ATOL, err_msg=key)


@pytest.mark.parametrize("model", VGG_MODELS)
@pytest.mark.parametrize("clip", ["melody", "drums", "chords"])
def test_vgg_matches_tensorflow(ref, model, clip):
    out = _layers_with_checked_tags(ref, model, clip)
    n = len(out["logits"])
    pool5 = ref[f"{clip}/{model}/pool5"]  # (patches, time 2, channels 128)
    assert out["pool5"].shape == (n, 2, 1, 128)
    assert_allclose(out["pool5"][:, :, 0], pool5, rtol=ATOL, atol=ATOL)
    # the embedding is pool5 flattened in TF's order, the input of the tag layer
    assert_allclose(out["penultimate"], pool5.reshape(n, 256), rtol=ATOL, atol=ATOL)
    shapes = [out[f"pool{i}"].shape[1:] for i in range(1, 6)]
    assert shapes == [(92, 48, 128), (46, 24, 128), (23, 12, 128), (11, 6, 128), (2, 1, 128)]


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


def _reference_embedding(ref, clip, model):
    if model in VGG_MODELS:
        pool5 = ref[f"{clip}/{model}/pool5"]
        return pool5.reshape(len(pool5), -1)
    return ref[f"{clip}/{model}/penultimate"]


@pytest.mark.parametrize("model", MODELS)
def test_end_to_end_matches_tensorflow(ref, clips, model):
    for clip, y in clips.items():
        taggram, emb = mn.musicnn_predict(y, 16000, model=model, batch_size=1)
        # 1e-3: a float16 rounding flip in the mel (platform FFT differences) moves outputs ~1e-4
        assert_allclose(taggram, ref[f"{clip}/{model}/taggram"], rtol=0, atol=1e-3)
        assert_allclose(emb, _reference_embedding(ref, clip, model), rtol=1e-3, atol=1e-3)


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


def test_columns_of_different_models_never_collide():
    columns = {model: set(mn.musicnn_columns(model, pool="mean,std,max")) for model in MODELS}
    for a in MODELS:
        for b in MODELS:
            if a != b:
                assert not columns[a] & columns[b], (a, b)
    vgg = mn.musicnn_columns("MSD_vgg")
    assert len(vgg) == 562 and vgg[:2] == ["musicnn_vgg_emb000_mean", "musicnn_vgg_emb000_std"]
    assert vgg[511] == "musicnn_vgg_emb255_std" and vgg[512] == "musicnn_vgg_tag_rock"
    assert mn.musicnn_columns("MTT_vgg")[-1] == "musicnn_mtt_vgg_tag_choral"


# --- pooling over patches -----------------------------------------------------------------------


def test_pooled_statistics(ref, clips):
    feats = mn.musicnn_features(clips["melody"], 16000, model="MSD_vgg", pool=["max", "mean", "std"])
    columns = mn.musicnn_columns("MSD_vgg", pool=("mean", "std", "max"))
    assert list(feats) == columns and len(columns) == 818
    assert columns[:4] == [  # always in the order mean, std, max
        "musicnn_vgg_emb000_mean",
        "musicnn_vgg_emb000_std",
        "musicnn_vgg_emb000_max",
        "musicnn_vgg_emb001_mean",
    ]
    emb = _reference_embedding(ref, "melody", "MSD_vgg")
    values = np.array(list(feats.values()))
    assert_allclose(values[0:768:3], emb.mean(axis=0), atol=1e-3)
    assert_allclose(values[1:768:3], emb.std(axis=0), atol=1e-3)
    assert_allclose(values[2:768:3], emb.max(axis=0), atol=1e-3)
    assert_allclose(values[768:], ref["melody/MSD_vgg/taggram"].mean(axis=0), atol=1e-3)
    only_max = mn.musicnn_features(clips["melody"], 16000, model="MSD_vgg", pool="max")
    assert list(only_max) == [c for c in columns if not c.endswith(("_mean", "_std"))]
    assert_allclose(list(only_max.values())[:256], values[2:768:3], rtol=0, atol=0)


def test_default_pool_keeps_the_published_columns(clips):
    y = clips["drums"]
    default = mn.musicnn_features(y, 16000)
    explicit = mn.musicnn_features(y, 16000, model="MSD_musicnn", pool=("std", "mean"))
    assert list(default) == list(explicit) == mn.musicnn_columns()
    assert list(default.values()) == list(explicit.values())
    # exactly the statistics the set has always computed (byte-identical tables)
    taggram, emb = mn.musicnn_predict(y, 16000)
    before = np.concatenate(
        [np.stack([emb.mean(axis=0), emb.std(axis=0)], axis=1).ravel(), taggram.mean(axis=0)]
    ).astype(np.float64)
    assert list(default.values()) == before.tolist()
    pooled = mn.musicnn_features(y, 16000, pool="mean,std,max")
    assert {k: v for k, v in pooled.items() if k in default} == default


@pytest.mark.parametrize("pool", ["", "median", ["mean", "mean"], None, 3, [["mean"]]])
def test_invalid_pool(pool):
    with pytest.raises(ParameterError, match="pool must list one or more distinct statistics"):
        mn.musicnn_features(np.zeros(16000, np.float32), 16000, pool=pool)
    with pytest.raises(ParameterError, match="pool must list"):
        mn.musicnn_columns(pool=pool)


# --- the registered feature sets ----------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_registered_sets(name, clips):
    from featurelab.features import get_feature_set

    model, pool, n_columns = SETS[name]
    feature_set = get_feature_set(name)
    assert f"({n_columns} columns" in feature_set.description
    assert feature_set.requires == ("torch", "musicnn")
    y = clips["chords"]
    feats = feature_set(y, 16000)
    assert list(feats) == mn.musicnn_columns(model, pool) and len(feats) == n_columns
    batch = feature_set.load_batch()(np.stack([y, y]), 16000, **feature_set.defaults)
    assert [list(row) for row in batch] == [list(feats)] * 2


def test_batch_equals_single(clips):
    sr = 16000
    Y = np.stack([clips["melody"][: 3 * sr + 1000], clips["melody"][2 * sr : 5 * sr + 1000]])
    batch = mn.musicnn_mtt_features_batch(Y, sr)
    for row, feats in zip(Y, batch, strict=True):
        single = mn.musicnn_mtt_features(row, sr)
        assert list(single) == list(feats)
        assert_allclose(list(feats.values()), list(single.values()), rtol=1e-5, atol=1e-5)
    assert mn.musicnn_features_batch(np.zeros((0, 100), np.float32), sr) == []
    Y = np.stack([clips["melody"][: 6 * sr], clips["melody"][sr // 4 : 6 * sr + sr // 4]])
    batch = mn.musicnn_features_batch(Y, sr, model="MSD_vgg", pool="mean,max")
    for row, feats in zip(Y, batch, strict=True):
        single = mn.musicnn_features(row, sr, model="MSD_vgg", pool="mean,max")
        assert list(single) == list(feats) == mn.musicnn_columns("MSD_vgg", "mean,max")
        assert_allclose(list(feats.values()), list(single.values()), rtol=1e-5, atol=1e-5)


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


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_vgg"])
def test_silence_and_loud_input_are_finite(model):
    for y in (np.zeros(4 * 22050, np.float32), np.full(4 * 22050, 1e4, np.float32)):
        values = np.array(list(mn.musicnn_features(y, 22050, model=model, pool="mean,std,max").values()))
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
        ({"sr": 0}, "sr must be an integer >= 1"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"n_threads": 0}, "n_threads must be an integer >= 1 or None"),
        ({"model": "MSD_musicnn_big"}, "model must be one of MSD_musicnn, MTT_musicnn, MSD_vgg, MTT_vgg"),
    ],
)
def test_invalid_arguments(kwargs, match):
    args = {"sr": 16000, **kwargs}
    with pytest.raises(ParameterError, match=match):
        mn.musicnn_predict(np.zeros(16000, np.float32), **args)


def test_empty_signal_is_rejected():
    with pytest.raises(ParameterError, match="non-empty 1-D"):
        mn.musicnn_features(np.zeros(0, np.float32), 16000)


def test_batch_rejects_unknown_model():
    with pytest.raises(ParameterError, match="model must be one of"):
        mn.musicnn_features_batch(np.zeros((2, 16000), np.float32), 16000, model="vgg")


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
