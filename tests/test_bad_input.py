"""Bad input never crashes a run: each case is an errors-table row with a clear reason, or a documented
finite result. Never NaN in the table."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, music_like, sine
from numpy.testing import assert_allclose

from featurelab.cli import main
from featurelab.datasets import scan_folder
from featurelab.exceptions import ParameterError
from featurelab.extraction import extract_tables
from featurelab.features.schema import GTZAN_FEATURE_COLUMNS
from featurelab.io import load_audio

FEATS = list(GTZAN_FEATURE_COLUMNS)


def run(source, **kwargs):
    result = extract_tables(source, **{"n_jobs": 1, **kwargs})
    kind = "segment" if kwargs.get("segment") else "track"
    table = result.tables[kind]
    if len(table):
        assert np.isfinite(table[FEATS].to_numpy(dtype=float)).all(), "NaN/inf in the table"
    return table, result.errors


def reason_for(errors: pd.DataFrame, name: str) -> str:
    rows = errors[errors["path"].str.endswith(name)]
    assert len(rows) == 1, f"{name} not reported: {errors.to_dict('records')}"
    return rows["reason"].iloc[0]


@pytest.fixture
def corpus(tmp_path, write_wav):
    """Good files next to every kind of broken one; the good ones must still come out."""
    write_wav("c/x/good.wav", music_like(1.5))
    (tmp_path / "c/x").mkdir(parents=True, exist_ok=True)
    (tmp_path / "c/x/not_audio.wav").write_bytes(b"MZ\x90\x00 definitely not a RIFF file" * 10)
    (tmp_path / "c/x/empty.wav").write_bytes(b"")
    full = (tmp_path / "c/x/good.wav").read_bytes()
    (tmp_path / "c/x/truncated_header.wav").write_bytes(full[:30])
    nan = sine(300, 0.5)
    nan[100:200] = np.nan
    write_wav("c/x/nan.wav", nan, subtype="FLOAT")
    inf = sine(300, 0.5)
    inf[5] = np.inf
    write_wav("c/x/inf.wav", inf, subtype="FLOAT")
    return tmp_path / "c"


def test_broken_files_are_reported_and_good_ones_kept(corpus):
    table, errors = run(corpus)
    assert table["filename"].tolist() == ["good.wav"]
    assert "not a readable audio file" in reason_for(errors, "not_audio.wav")
    assert reason_for(errors, "empty.wav") == "empty file (0 bytes)"
    assert reason_for(errors, "truncated_header.wav")  # any clear reason, no crash
    assert "NaN or infinite" in reason_for(errors, "nan.wav")
    assert "NaN or infinite" in reason_for(errors, "inf.wav")


def test_silent_file_gives_documented_finite_row(tmp_path, write_wav):
    write_wav("c/s/silence.wav", np.zeros(SR, np.float32))
    table, errors = run(tmp_path / "c")
    assert errors.empty
    row = table.iloc[0]
    assert row["rms_mean"] == 0 and row["tempo"] == 0 and row["spectral_centroid_mean"] == 0
    assert row["harmony_var"] == 0 and row["perceptr_var"] == 0
    assert row["mfcc1_mean"] == pytest.approx(-1131.37, rel=1e-3)  # dct of a flat -100 dB log-mel


@pytest.mark.parametrize("subtype,rtol", [("PCM_U8", 0.2), ("PCM_24", 1e-3), ("FLOAT", 1e-3)])
def test_bit_depths_decode_like_16_bit(tmp_path, write_wav, subtype, rtol):
    y = music_like(1.5, seed=2)
    write_wav("a/ref.wav", y)
    write_wav("b/other.wav", y, subtype=subtype)
    ref, _ = run(tmp_path / "a")
    other, errors = run(tmp_path / "b")
    assert errors.empty
    for col in ("spectral_centroid_mean", "rms_mean", "mfcc2_mean", "chroma_stft_mean"):
        assert other[col].iloc[0] == pytest.approx(ref[col].iloc[0], rel=rtol), col


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_averaged_to_mono(tmp_path, write_wav, channels):
    y = music_like(1.0, seed=3)
    multi = np.stack([y] * channels, axis=1)
    write_wav("m/multi.wav", multi, subtype="FLOAT")
    write_wav("s/mono.wav", y, subtype="FLOAT")
    multi_table, errors = run(tmp_path / "m")
    mono_table, _ = run(tmp_path / "s")
    assert errors.empty
    assert_allclose(
        multi_table[FEATS].to_numpy(float), mono_table[FEATS].to_numpy(float), rtol=1e-5, atol=1e-7
    )
    decoded, _ = load_audio(tmp_path / "m" / "multi.wav")
    assert decoded.ndim == 1


@pytest.mark.parametrize("native_sr", [8000, 48000])
def test_unusual_sample_rates_are_resampled(tmp_path, write_wav, native_sr):
    write_wav("c/x/tone.wav", sine(440, 1.0, sr=native_sr), sr=native_sr)
    table, errors = run(tmp_path / "c")
    assert errors.empty
    assert table["length"].iloc[0] == SR  # 1 s at 22050 Hz
    assert table["spectral_centroid_mean"].iloc[0] == pytest.approx(440, rel=0.1)
    table16, _ = run(tmp_path / "c", sr=16000)
    assert table16["length"].iloc[0] == 16000


def test_file_shorter_than_one_segment_gives_no_rows(tmp_path, write_wav):
    write_wav("c/x/short.wav", sine(300, 0.5))
    write_wav("c/x/long.wav", sine(300, 2.5))
    table, errors = run(tmp_path / "c", segment=1.0)
    assert table["filename"].tolist() == ["long.0.wav", "long.1.wav"]
    assert "shorter than one 1 s segment" in reason_for(errors, "short.wav")


def test_one_sample_file(tmp_path, write_wav):
    write_wav("c/x/one.wav", np.array([0.5], np.float32))
    table, errors = run(tmp_path / "c")
    assert errors.empty and table["length"].tolist() == [1]


def test_mp3_without_decoder_or_garbage_mp3_is_a_clear_error(tmp_path):
    (tmp_path / "c/x").mkdir(parents=True)
    (tmp_path / "c/x/fake.mp3").write_bytes(b"ID3" + b"\x00" * 64)
    table, errors = run(tmp_path / "c")
    assert table.empty
    assert "mp3" in reason_for(errors, "fake.mp3")


def test_load_audio_errors_name_the_file(tmp_path):
    from featurelab.exceptions import AudioLoadError

    with pytest.raises(AudioLoadError, match="file not found"):
        load_audio(tmp_path / "nope.wav")
    sf.write(tmp_path / "a.wav", sine(300, 0.2), SR)
    with pytest.raises(AudioLoadError, match="no audio samples at offset"):
        load_audio(tmp_path / "a.wav", offset=5.0)


# An MPEG-like header (0xFFFF sync bits) on garbage: libsndfile answers "File does not exist or
# is not a regular file", which is false for a file that exists and can be read.
MPEG_LIKE_GARBAGE = b"\xff\xffs\x1e\xfc5\x13\xc8\xab\x06\x9f\xe9" + bytes(range(256)) * 4


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".aiff", ".au", ".mp3", ".m4a"])
def test_garbage_is_not_a_decodable_audio_file_not_a_missing_one(tmp_path, write_wav, ext):
    write_wav("c/x/good.wav", music_like(0.5))
    (tmp_path / f"c/x/junk{ext}").write_bytes(MPEG_LIKE_GARBAGE)
    table, errors = run(tmp_path / "c")
    assert table["filename"].tolist() == ["good.wav"]
    reason = reason_for(errors, f"junk{ext}")
    assert "not a decodable audio file" in reason, reason
    assert "does not exist" not in reason and "regular file" not in reason, reason


def test_missing_and_unreadable_files_keep_their_reasons(tmp_path, write_wav):
    from featurelab.exceptions import AudioLoadError

    with pytest.raises(AudioLoadError, match="file not found"):
        load_audio(tmp_path / "gone.wav")
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root from reading")
    write_wav("locked.wav", music_like(0.5))
    (tmp_path / "locked.wav").chmod(0)
    try:
        with pytest.raises(AudioLoadError) as info:
            load_audio(tmp_path / "locked.wav")
    finally:
        (tmp_path / "locked.wav").chmod(0o644)
    assert "not a decodable audio file" not in info.value.reason
    assert "ermission" in info.value.reason


# ----------------------------------------------------------------------------- unreadable folders
def _deny(monkeypatch, *folders: Path) -> None:
    """Make listing ``folders`` fail with EACCES, as for a folder without read permission."""
    real = os.scandir
    denied = {str(folder) for folder in folders}

    def scandir(path="."):
        if os.fspath(path) in denied:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_files_in_an_unreadable_sub_folder_are_an_errors_row(tmp_path, write_wav, monkeypatch):
    write_wav("c/a/one.wav", music_like(0.5))
    write_wav("c/b/two.wav", music_like(0.5, seed=1))
    write_wav("c/b/deeper/three.wav", music_like(0.5, seed=2))
    _deny(monkeypatch, tmp_path / "c" / "b")
    table, errors = run(tmp_path / "c")
    assert table["filename"].tolist() == ["one.wav"]
    reason = reason_for(errors, "b")
    assert "cannot read this folder" in reason and "Permission denied" in reason
    with pytest.raises(ParameterError, match="Permission denied"):
        scan_folder(tmp_path / "c")  # the plain list of files cannot say it: it refuses


def test_unreadable_sub_folder_makes_the_cli_exit_1_with_an_errors_row(tmp_path, write_wav, monkeypatch):
    write_wav("c/a/one.wav", music_like(0.5))
    write_wav("c/b/two.wav", music_like(0.5, seed=1))
    _deny(monkeypatch, tmp_path / "c" / "b")
    out = tmp_path / "t.csv"
    assert main(["extract", str(tmp_path / "c"), "-o", str(out), "-q", "-j", "1", "--no-cache"]) == 1
    assert pd.read_csv(out)["filename"].tolist() == ["one.wav"]
    errors = pd.read_csv(tmp_path / "t.errors.csv")
    assert errors["path"].tolist() == [str(tmp_path / "c" / "b")]


def test_an_unreadable_input_folder_is_a_usage_error(tmp_path, write_wav, monkeypatch, capsys):
    write_wav("c/a/one.wav", music_like(0.5))
    _deny(monkeypatch, tmp_path / "c")
    out = tmp_path / "t.csv"
    assert main(["extract", str(tmp_path / "c"), "-o", str(out), "-q", "-j", "1"]) == 2
    assert "Permission denied" in capsys.readouterr().err and not out.exists()


def test_sub_folder_without_read_permission_is_an_errors_row(tmp_path, write_wav):
    if os.geteuid() == 0:
        pytest.skip("running as root: folder permissions do not stop root from listing")
    write_wav("c/a/one.wav", music_like(0.5))
    write_wav("c/b/two.wav", music_like(0.5, seed=1))
    (tmp_path / "c" / "b").chmod(0)
    try:
        table, errors = run(tmp_path / "c")
    finally:
        (tmp_path / "c" / "b").chmod(0o755)
    assert table["filename"].tolist() == ["one.wav"]
    assert "cannot read this folder" in reason_for(errors, "b")


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="needs symbolic links")
def test_symlinked_genre_folders_are_followed_and_loops_reported(tmp_path, write_wav):
    from featurelab.datasets import discover

    write_wav("c/blues/b1.wav", music_like(0.5))
    write_wav("elsewhere/metal/m1.wav", music_like(0.5, seed=1))
    write_wav("elsewhere/metal/deeper/m2.wav", music_like(0.5, seed=2))
    (tmp_path / "c" / "metal").symlink_to(tmp_path / "elsewhere" / "metal", target_is_directory=True)
    assert [(i.label, i.name) for i in scan_folder(tmp_path / "c")] == [
        ("blues", "b1.wav"),
        ("metal", "m2.wav"),  # metal/deeper/m2.wav
        ("metal", "m1.wav"),
    ]
    # A loop (a link to an enclosing folder) ends: each folder is scanned once, the link reported.
    (tmp_path / "c" / "metal" / "deeper" / "up").symlink_to(tmp_path / "c", target_is_directory=True)
    items, problems = discover(tmp_path / "c")
    assert [i.name for i in items] == ["b1.wav", "m2.wav", "m1.wav"]
    assert [p.path for p in problems] == [str(tmp_path / "c" / "metal" / "deeper" / "up")]
    assert "already scanned" in problems[0].reason
    with pytest.raises(ParameterError, match="already scanned"):
        scan_folder(tmp_path / "c")
