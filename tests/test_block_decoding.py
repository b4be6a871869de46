"""Long files are decoded block by block (memory flat in their length), with the same signal and rows.

The block reader must yield many blocks (never the whole file at once), and their concatenation
must equal the whole-file decoding: bit for bit at the file's own rate, and within 1e-6 of full
scale where soxr resamples (its streaming mode has so far given bit-identical output too). The
driver must compute a long file's rows without decoding it whole, equal to the whole-file rows:
segment rows exactly, the track row exactly except the four harmony/perceptr statistics, summed in
float64 per block instead of NumPy's float32 pairwise sum over the whole signal: means within 1e-9
absolute (full scale 1; the float64 sum is the more exact one), variances within 1e-5 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, music_like

import featurelab.io as fio
import featurelab.worker as worker
from featurelab.datasets import AudioItem
from featurelab.exceptions import AudioLoadError
from featurelab.features.gtzan import gtzan_features, gtzan_features_streamed
from featurelab.io import StreamedSignal, load_audio, open_audio_stream
from featurelab.settings import ExtractionSettings

#: Resampling tolerance (absolute, full scale 1).
RESAMPLE_ATOL = 1e-6
#: The harmony/perceptr means (absolute) and variances (relative) of a streamed track.
WAVE_MEAN_ATOL = 1e-9
WAVE_VAR_RTOL = 1e-5
WAVE_STATS = ("harmony_mean", "harmony_var", "perceptr_mean", "perceptr_var")


def assert_same_track_row(streamed: dict[str, float], whole: dict[str, float]) -> None:
    assert list(streamed) == list(whole)
    for column in whole:
        if column in WAVE_STATS:
            tolerance = (
                {"abs_tol": WAVE_MEAN_ATOL} if column.endswith("_mean") else {"rel_tol": WAVE_VAR_RTOL}
            )
            assert math.isclose(streamed[column], whole[column], **tolerance), column
        else:
            assert streamed[column] == whole[column], column


def _stereo(seconds: float, sr: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mono = music_like(seconds, sr=sr, seed=seed)
    return np.stack([mono * g for g in rng.uniform(0.3, 1.0, channels)], axis=1).astype(np.float32)


@pytest.fixture
def read_sizes(monkeypatch):
    """Record the frames asked of every ``SoundFile.read``; whole-file reading is forbidden."""
    sizes: list[int] = []
    original = sf.SoundFile.read

    def read(self, frames=-1, *args, **kwargs):
        assert frames >= 0, "a block reader must not read the rest of the file at once"
        sizes.append(frames)
        return original(self, frames, *args, **kwargs)

    def whole(*args, **kwargs):
        raise AssertionError("the whole file was decoded")

    monkeypatch.setattr(sf.SoundFile, "read", read)
    monkeypatch.setattr(sf, "read", whole)
    return sizes


@pytest.mark.parametrize(
    ("file_sr", "channels", "subtype"),
    [(SR, 1, "PCM_16"), (44100, 2, "PCM_16"), (48000, 3, "FLOAT"), (16000, 1, "PCM_24")],
    ids=["22050-mono", "44100-stereo", "48000-3ch-float", "16000-upsampled"],
)
@pytest.mark.parametrize(("offset", "duration"), [(0.0, None), (1.3, 4.0)])
def test_blocks_concatenate_to_the_whole_file_decoding(
    tmp_path, monkeypatch, file_sr, channels, subtype, offset, duration
):
    path = tmp_path / "a.wav"
    sf.write(path, _stereo(7.0, file_sr, channels), file_sr, subtype=subtype)
    whole, sr = load_audio(path, sr=SR, offset=offset, duration=duration)
    stream = open_audio_stream(path, sr=SR, offset=offset, duration=duration)
    assert stream is not None and stream.sr == sr and stream.native_sr == file_sr
    assert stream.n_samples == len(whole)

    sizes: list[int] = []
    original = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, n, **kw: sizes.append(n) or original(self, n, **kw)
    )
    blocks = list(stream.blocks(block_samples=10_007))
    assert len(blocks) >= 3 and max(sizes) <= 10_007  # read in blocks, never whole
    assert all(block.dtype == np.float32 and block.ndim == 1 for block in blocks)
    joined = np.concatenate(blocks)
    assert joined.shape == whole.shape
    if file_sr == SR:
        np.testing.assert_array_equal(joined, whole)
    else:
        np.testing.assert_allclose(joined, whole, rtol=0, atol=RESAMPLE_ATOL)
    # A second pass starts again from the beginning.
    np.testing.assert_array_equal(np.concatenate(list(stream.blocks(block_samples=4096))), joined)


def test_streamed_signal_reads_forward_and_restarts_for_a_second_pass(tmp_path):
    y = music_like(3.0)
    path = tmp_path / "a.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    signal = StreamedSignal(open_audio_stream(path, sr=None), block_samples=1000)
    assert signal.shape == (1, len(y))
    for lo, hi in [(0, 10), (5, 2500), (2400, 2400), (2400, 9000), (20000, len(y) + 50)]:
        np.testing.assert_array_equal(signal[:, lo:hi], y[np.newaxis, lo:hi])
    assert signal.passes == 1
    assert len(signal._buffer) < 2000 + len(y) - 20000  # only from the last slice's start on
    np.testing.assert_array_equal(signal[:, 100:200], y[np.newaxis, 100:200])
    assert signal.passes == 2
    with pytest.raises(IndexError):
        signal[0, 1:2]


def test_a_block_with_non_finite_samples_is_a_load_error(tmp_path):
    y = music_like(2.0)
    y[30000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    stream = open_audio_stream(path, sr=SR)
    with pytest.raises(AudioLoadError, match="NaN or infinite"):
        list(stream.blocks(block_samples=8192))


def test_formats_without_exact_lengths_are_decoded_whole(tmp_path):
    path = tmp_path / "a.ogg"
    sf.write(path, music_like(1.0), SR, format="OGG")
    assert open_audio_stream(path, sr=SR) is None
    assert open_audio_stream(tmp_path / "missing.wav", sr=SR) is None  # load_audio says why
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio at all" * 100)
    assert open_audio_stream(garbage, sr=SR) is None
    wav = tmp_path / "a.wav"
    sf.write(wav, music_like(1.0), SR)
    assert open_audio_stream(wav, sr=SR, res_type="kaiser_best") is None
    assert open_audio_stream(wav, sr=SR, offset=5.0) is None  # nothing there: load_audio's error


def test_streamed_engine_equals_the_whole_signal_engine(tmp_path):
    """Several blocks of frames, two passes over the file (the chroma needs the tuning first)."""
    y = music_like(40.0, seed=3)
    path = tmp_path / "a.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    signal = StreamedSignal(open_audio_stream(path, sr=SR), block_samples=50_000)
    streamed = gtzan_features_streamed(signal, SR, block_frames=300)
    whole = gtzan_features(y, SR, block_frames=300)
    assert signal.passes == 2
    assert_same_track_row(streamed, whole)


@pytest.mark.parametrize(("file_sr", "channels"), [(SR, 1), (44100, 2)])
def test_a_long_file_is_never_decoded_whole_and_gives_the_same_rows(
    tmp_path, monkeypatch, read_sizes, file_sr, channels
):
    path = tmp_path / "long.wav"
    sf.write(path, _stereo(14.0, file_sr, channels, seed=4), file_sr, subtype="PCM_16")
    item = AudioItem(path, path.name)
    settings = ExtractionSettings(segment=3.0)
    kinds = ("track", "segment")

    monkeypatch.setattr(worker, "STREAM_SECONDS", 10.0)  # 14 s is "long" here
    monkeypatch.setattr(fio, "STREAM_BLOCK_SAMPLES", 20_000)
    monkeypatch.setattr(fio, "load_audio", lambda *a, **k: pytest.fail("decoded whole"))
    streamed = worker.process_item(item, settings, kinds)
    assert read_sizes and max(read_sizes) <= 20_000
    monkeypatch.undo()

    monkeypatch.setattr(worker, "STREAM_SECONDS", math.inf)
    whole = worker.process_item(item, settings, kinds)
    assert streamed["seconds"] == whole["seconds"] == pytest.approx(14.0, abs=1e-3)
    assert streamed["segment"] == whole["segment"]  # every segment row exactly
    assert len(whole["segment"]["rows"]) == 4
    (s_row,), (w_row,) = streamed["track"]["rows"], whole["track"]["rows"]
    assert s_row.pop("length") == w_row.pop("length")
    assert_same_track_row(s_row, w_row)


@pytest.mark.parametrize(
    "options",
    [{"features": "gtzan,contrast"}, {"normalize": "peak"}, {"augment": "gain=-6:0", "copies": 1}],
    ids=["other-sets", "normalize", "augment"],
)
def test_long_files_with_whole_signal_settings_are_decoded_whole(tmp_path, monkeypatch, options):
    path = tmp_path / "long.wav"
    sf.write(path, music_like(2.0), SR)
    monkeypatch.setattr(worker, "STREAM_SECONDS", 1.0)
    settings = ExtractionSettings(segment=1.0, **options)
    assert worker._open_stream(AudioItem(path, path.name), settings, ("segment",)) is None
    assert (
        worker._open_stream(AudioItem(path, path.name), ExtractionSettings(segment=1.0), ("segment",))
        is not None
    )
