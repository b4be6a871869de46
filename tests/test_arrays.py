"""Log-mel segments from the extraction driver: numbers, segment rows, errors, cache, parallelism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SR, music_like, sine

from featurelab.arrays import LogMel, array_product, extract_arrays, log_mel
from featurelab.exceptions import ParameterError
from featurelab.extraction import extract_tables, segment_bounds


def test_log_mel_of_a_sine_peaks_near_its_frequency():
    """The one log-mel of featurelab (the CNN's inputs): dB below each segment's peak."""
    import librosa

    y = sine(1000, 1.0)
    S_db = log_mel(y, sr=SR, n_mels=64)
    assert S_db.shape == (64, 1 + SR // 512) and S_db.dtype == np.float32
    assert S_db.max() == 0.0 and S_db.min() >= -80.0
    centers = librosa.mel_frequencies(n_mels=64, fmax=SR / 2)
    assert abs(centers[S_db.mean(axis=1).argmax()] - 1000) < 150
    stacked = log_mel(np.stack([y, 0.5 * y]), sr=SR, n_mels=64, top_db=60.0)
    np.testing.assert_allclose(stacked[1], np.maximum(S_db, -60.0), rtol=0, atol=1e-4)
    np.testing.assert_array_equal(
        LogMel(n_mels=64, top_db=60.0).transform(np.stack([y, 0.5 * y]), SR), stacked
    )


def test_product_round_trip_and_refusals():
    product = LogMel(n_mels=64, hop_length=256)
    assert array_product(product.to_dict()) == product
    assert array_product(dict(product.to_dict(), top_db=60)).top_db == 60
    with pytest.raises(ParameterError, match="product must be one of logmel. Got 'cqt'"):
        array_product({"product": "cqt", "version": "1"})
    with pytest.raises(ParameterError, match="of version '0' cannot be recomputed"):
        array_product(dict(product.to_dict(), version="0"))
    with pytest.raises(ParameterError, match=r"logmel parameters must be among .* Got \['fmax'\]"):
        array_product(dict(product.to_dict(), fmax=8000))
    with pytest.raises(ParameterError, match="'n_mels' parameter of LogMel"):
        array_product(dict(product.to_dict(), n_mels=0))
    with pytest.raises(ParameterError, match="must be a JSON object"):
        array_product(["logmel"])


def test_segments_follow_the_segment_table(tiny_corpus):
    """Same discovery, names and segmentation rule as the segment table; arrays of the slices."""
    import soundfile as sf

    result = extract_arrays(tiny_corpus, segment=1.0, segment_mode="exact", n_mels=32, n_jobs=1)
    table = extract_tables(tiny_corpus, segment=1.0, segment_mode="exact", n_jobs=1).tables["segment"]
    segments = result.segments
    assert list(segments.columns) == ["filename", "label", "group", "path", "start", "end"]
    assert segments["filename"].tolist() == table["filename"].tolist()
    assert segments["label"].tolist() == table["label"].tolist()
    assert segments["group"].iloc[0] == "bright.00000" and segments["start"].iloc[1] == 1.0
    assert result.arrays.shape == (18, 32, 1 + SR // 512)
    assert result.arrays.shape == (len(segments), *LogMel(n_mels=32).shape(result.settings))
    assert result.errors.empty and result.n_computed == 9
    # the arrays of a file are those of its segments, computed together as the CNN computed them
    # (with one BLAS thread, as in every extraction worker: more threads may round otherwise)
    from threadpoolctl import threadpool_limits

    y, _ = sf.read(segments["path"].iloc[2], dtype="float32")
    units = np.stack([y[a:b] for a, b in segment_bounds(len(y), SR, 1.0, mode="exact")])
    with threadpool_limits(limits=1):
        expected = log_mel(units, sr=SR, n_mels=32)
    np.testing.assert_array_equal(result.arrays[2:4], expected)


def test_gtzan_mode_and_hop(tiny_corpus):
    result = extract_arrays(tiny_corpus, segment=1.0, segment_hop=0.5, n_mels=16, n_jobs=1)
    # 2.2 s files: windows at 0, 0.5 and 1.0 s; gtzan mode stops one sample short
    assert len(result.segments) == 27
    first = result.segments.iloc[:3]
    assert first["start"].tolist() == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(first["end"] - first["start"], (SR - 1) / SR)


def test_short_missing_and_clipped_inputs(tmp_path, write_wav):
    write_wav("audio/long.wav", music_like(3.0, seed=1))
    write_wav("audio/short.wav", sine(440, 0.5))
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,label,start,end,group\n"
        "audio/long.wav,a,0.5,2.5,t1\n"
        "audio/short.wav,b,,,t2\n"
        "audio/missing.wav,b,,,t3\n",
        encoding="utf-8",
    )
    result = extract_arrays(manifest, segment=1.0, segment_mode="exact", n_mels=16, n_jobs=1)
    segments = result.segments
    assert segments["group"].tolist() == ["t1", "t1"]
    assert segments["start"].tolist() == [0.5, 1.5] and segments["end"].tolist() == [1.5, 2.5]
    reasons = dict(zip(result.errors["path"].map(lambda p: p.rsplit("/", 1)[-1]), result.errors["reason"]))
    assert "shorter than one 1 s segment" in reasons["short.wav"]
    assert "not found" in reasons["missing.wav"]


def test_nothing_extracted_gives_an_empty_stack(tmp_path, write_wav):
    short = write_wav("short.wav", sine(440, 0.2))
    result = extract_arrays([short], segment=1.0, n_mels=16, n_jobs=1)
    assert result.arrays.shape == (0, 16, 1 + (SR - 1) // 512) and result.segments.empty
    assert len(result.errors) == 1


def test_cache_stores_arrays_and_resumes(tiny_corpus, tmp_path):
    cache = tmp_path / "cache"
    options = dict(segment=1.0, segment_mode="exact", n_mels=16, n_jobs=1, cache=cache)
    first = extract_arrays(tiny_corpus, **options)
    entries = sorted(cache.glob("*/*.npz"))
    assert len(entries) == 9
    calls = []
    second = extract_arrays(tiny_corpus, progress=lambda done, total: calls.append((done, total)), **options)
    assert (second.n_cached, second.n_computed) == (9, 0)
    np.testing.assert_array_equal(first.arrays, second.arrays)
    pd.testing.assert_frame_equal(first.segments, second.segments)
    # other parameters are other entries; a damaged array is recomputed
    assert extract_arrays(tiny_corpus, **{**options, "n_mels": 8}).n_computed == 9
    entries[0].write_bytes(b"damaged")
    third = extract_arrays(tiny_corpus, **options)
    assert third.n_computed == 1
    np.testing.assert_array_equal(first.arrays, third.arrays)


def test_parallel_equals_serial(tiny_corpus):
    serial = extract_arrays(tiny_corpus, segment=1.0, n_mels=16, n_jobs=1)
    parallel = extract_arrays(tiny_corpus, segment=1.0, n_mels=16, n_jobs=2, progress=False)
    np.testing.assert_array_equal(serial.arrays, parallel.arrays)
    pd.testing.assert_frame_equal(serial.segments, parallel.segments)


def test_validation(tiny_corpus):
    with pytest.raises(ParameterError, match="needs segment"):
        extract_arrays(tiny_corpus)
    with pytest.raises(ParameterError, match="product must be one of logmel"):
        extract_arrays(tiny_corpus, "chroma", segment=1.0)
    with pytest.raises(ParameterError, match="'n_mels' parameter of LogMel"):
        extract_arrays(tiny_corpus, segment=1.0, n_mels=0)
    with pytest.raises(ParameterError, match="longer than half an FFT window"):
        extract_arrays(tiny_corpus, segment=0.01)
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_mel'"):
        extract_arrays(tiny_corpus, segment=1.0, n_mel=16)
    product = LogMel(n_mels=8)
    result = extract_arrays(tiny_corpus, product, segment=1.0, n_jobs=1)
    assert result.product is product and result.arrays.shape[1] == 8


@pytest.mark.parametrize("damage", ["nan", "other_shape", "bounds", "error_not_text"])
def test_damaged_but_readable_cache_entries_are_recomputed(tiny_corpus, tmp_path, damage):
    cache = tmp_path / "cache"
    options = dict(segment=1.0, segment_mode="exact", n_mels=16, n_jobs=1, cache=cache)
    first = extract_arrays(tiny_corpus, **options)
    entry = sorted(cache.glob("*/*.json"))[0]
    arrays = entry.with_suffix(".npz")
    stored = json.loads(entry.read_text())
    with np.load(arrays) as npz:
        array = npz["array"]
    if damage == "nan":
        np.savez(arrays, array=np.full_like(array, np.nan))
    elif damage == "other_shape":
        np.savez(arrays, array=array[:, :8])
    elif damage == "bounds":
        entry.write_text(json.dumps({**stored, "bounds": [[0, 5]] * len(array)}))
    else:
        entry.write_text(json.dumps({**stored, "error": 5}))
    again = extract_arrays(tiny_corpus, **options)
    assert (again.n_computed, again.n_damaged, again.n_cached) == (1, 1, 8)
    np.testing.assert_array_equal(first.arrays, again.arrays)
    pd.testing.assert_frame_equal(first.segments, again.segments)
