"""ExtractionSettings: validation, the sidecar, files of earlier versions, comparison, cache keys."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from featurelab.exceptions import ModelFileError, ParameterError, TableError
from featurelab.settings import ExtractionSettings, _option

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1"


def test_defaults_and_normalisation():
    settings = ExtractionSettings()
    assert settings.features == ("gtzan",) and settings.sr == 22050 and settings.table == "track"
    assert ExtractionSettings(features="gtzan, contrast").features == ("gtzan", "contrast")
    assert ExtractionSettings(features=["gtzan"]) == ExtractionSettings()
    # equal when they make the same tables
    assert ExtractionSettings(segment=3.0, segment_hop=3.0) == ExtractionSettings(segment=3.0)
    assert ExtractionSettings(segment_mode="exact") == ExtractionSettings()
    assert ExtractionSettings(segment=3.0, segment_mode="exact") != ExtractionSettings(segment=3.0)
    assert len({ExtractionSettings(), ExtractionSettings(segment_hop=2.0)}) == 1
    assert ExtractionSettings(backend="pyaudioanalysis").features == ("pyaudioanalysis",)
    segment = ExtractionSettings(segment=3, sr=22050.0)
    assert segment.segment == 3.0 and isinstance(segment.sr, int) and segment.hop == 3.0
    assert segment.table == "segment" and segment.for_table("track").table == "track"
    assert ExtractionSettings(segment=3.0, segment_hop=1.5).hop == 1.5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sr": 0}, "'sr' parameter of ExtractionSettings must be an int in the range"),
        ({"sr": 10**9}, "'sr' parameter"),
        ({"sr": "22050"}, "'sr' parameter"),
        ({"segment": -1}, "'segment' parameter of ExtractionSettings must be a float"),
        ({"segment": float("nan")}, "'segment' parameter"),
        ({"segment": float("inf")}, "'segment' parameter"),
        ({"segment": True}, "segment must be a number of seconds"),
        ({"segment": 3.0, "segment_hop": 0}, "'segment_hop' parameter"),
        ({"segment_mode": "fast"}, "'segment_mode' parameter"),
        ({"backend": "essentia"}, "'backend' parameter"),
        ({"features": ""}, "at least one feature set"),
        ({"features": "gtzan,gtzan"}, "lists a set twice"),
        ({"features": "generalize,musicnn"}, "lists a set twice: gtzan,musicnn,musicnn_vgg,musicnn"),
        ({"features": [1]}, "feature-set names"),
        ({"features": 3}, "'features' parameter"),
        # issue 14, 10: a segment shorter than one sample is a usage error, not a per-file error
        ({"segment": 1e-9}, "segment must be at least 2 samples .* at sr=22050"),
        ({"segment": 1 / 22050, "segment_mode": "gtzan"}, "at least 2 samples"),
        ({"segment": 1.0, "segment_hop": 1e-9}, "segment_hop at least 1 sample"),
    ],
)
def test_invalid_values_are_one_clear_error(options, message):
    with pytest.raises(ParameterError, match=message):
        ExtractionSettings(**options)


def test_one_sample_exact_segments_are_valid():
    assert ExtractionSettings(segment=1 / 22050, segment_mode="exact").segment == pytest.approx(1 / 22050)


def test_coerce_merges_keywords_and_names_the_options():
    base = ExtractionSettings(sr=16000)
    assert ExtractionSettings.coerce(base) is base
    merged = ExtractionSettings.coerce(base, segment=1.5)
    assert (merged.sr, merged.segment) == (16000, 1.5)
    assert ExtractionSettings.coerce(segment=2.0) == ExtractionSettings(segment=2.0)
    # a segment length changed later keeps "hop = segment"
    assert ExtractionSettings.coerce(ExtractionSettings(segment=3.0), segment=1.0).hop == 1.0
    with pytest.raises(
        TypeError, match=r"extract\(\) got an unexpected keyword argument 'segmnt'.*segment_hop"
    ):
        ExtractionSettings.coerce(segmnt=3.0, caller="extract")
    with pytest.raises(TypeError, match="'assumed'"):
        ExtractionSettings.coerce(assumed=True)
    with pytest.raises(ParameterError, match="settings must be an ExtractionSettings"):
        ExtractionSettings.coerce({"sr": 16000})


def test_from_options_picks_the_fields():
    params = {"segment": 3.0, "sr": 16000, "out": "t.csv", "jobs": 2, "features": None, "assumed": True}
    settings = ExtractionSettings.from_options(params)
    assert settings == ExtractionSettings(segment=3.0, sr=16000) and not settings.assumed


def test_dict_round_trip_and_track_view():
    settings = ExtractionSettings(features="gtzan,contrast", sr=16000, segment=1.5, segment_mode="exact")
    data = settings.to_dict()
    assert data == {
        "features": ["gtzan", "contrast"],
        "sr": 16000,
        "segment": 1.5,
        "segment_hop": 1.5,
        "segment_mode": "exact",
        "backend": "librosa",
        "assumed": False,
    }
    assert ExtractionSettings.from_dict(data).differences(settings) == []
    track = settings.for_table("track").to_dict(provenance=False)
    assert (track["segment"], track["segment_hop"], track["segment_mode"]) == (None, None, None)
    with pytest.raises(ParameterError, match="needs segment"):
        ExtractionSettings().for_table("segment")
    with pytest.raises(ParameterError, match="'track' and/or 'segment'"):
        settings.for_table("tracks")


# ----------------------------------------------------------------------------- the sidecar
def test_sidecar_is_written_as_version_0_1_wrote_it(tmp_path):
    """Same bytes as featurelab 0.1's sidecars (the fixtures), atomically, no temporary left."""
    settings = ExtractionSettings(segment=3.0)
    assert settings.write_sidecar(tmp_path / "segments.csv") == tmp_path / "segments.meta.json"
    settings.for_table("track").write_sidecar(tmp_path / "tracks.parquet")
    for name in ("segments.meta.json", "tracks.meta.json"):
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["segments.meta.json", "tracks.meta.json"]


def test_sidecars_of_version_0_1_load(tmp_path):
    for name in ("segments.meta.json", "tracks.meta.json", "clips.csv.meta.json"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    segments = ExtractionSettings.read_sidecar(tmp_path / "segments.csv")
    assert segments == ExtractionSettings(segment=3.0, segment_hop=3.0)
    assert segments.featurelab_version == "0.1.0" and not segments.assumed
    assert ExtractionSettings.read_sidecar(tmp_path / "tracks.csv") == ExtractionSettings()
    clips = ExtractionSettings.read_sidecar(tmp_path / "clips.csv")  # the <name>.meta.json spelling
    assert (clips.features, clips.sr, clips.segment, clips.hop, clips.segment_mode) == (
        ("gtzan", "contrast"),
        16000,
        1.5,
        0.5,
        "exact",
    )
    assert ExtractionSettings.read_sidecar(tmp_path / "none.csv") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"sr": "fast"}', "is invalid: The 'sr' parameter"),
        ('{"features": []}', "is invalid: features must name"),
        ("[" * 100 + "]" * 100, "nests deeper"),
    ],
)
def test_damaged_sidecars_are_one_table_error(tmp_path, text, message):
    (tmp_path / "t.meta.json").write_text(text)
    with pytest.raises(TableError, match=message):
        ExtractionSettings.read_sidecar(tmp_path / "t.csv")


def test_unwritable_sidecar_is_a_table_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises((TableError, OSError)):
        ExtractionSettings().write_sidecar(tmp_path / "file" / "t.csv")


# ----------------------------------------------------------------------------- models
def test_model_extraction_dicts_of_version_0_1_load_and_save_unchanged():
    saved = json.loads((FIXTURES / "model_extraction.json").read_text())
    for name, data in saved.items():
        settings = ExtractionSettings.from_dict(data)
        if name != "minimal":
            assert settings.to_dict() == data, name  # model.json["extraction"] stays as it was
    assumed = ExtractionSettings.from_dict(saved["assumed_segment_other_columns"])
    assert assumed.assumed and assumed.segment == 3.0 and "not GTZAN columns" in assumed.note
    assert (
        ExtractionSettings.assume_published(True, ["x"]).to_dict() == saved["assumed_segment_other_columns"]
    )
    assert (
        ExtractionSettings.assume_published(False, ["chroma_stft_mean"]).to_dict() == saved["assumed_track"]
    )


def test_saved_model_reads_and_checks_its_settings(tmp_path):
    from featurelab.models.persist import SavedModel

    def model(extraction, **meta):
        return SavedModel(None, {"feature_names": [], "extraction": extraction, **meta}, tmp_path / "m.skops")

    saved = json.loads((FIXTURES / "model_extraction.json").read_text())
    trained = model(saved["from_sidecar_segment"])
    assert trained.extraction.sr == 16000 and trained.extraction.hop == 0.5
    table = ExtractionSettings(features="gtzan,contrast", sr=16000, segment=1.5)  # another hop: fits
    trained.check_extraction(table)
    trained.check_extraction(None)
    with pytest.raises(ModelFileError, match=r"sr: model 16000, table 22050; segment: model 1.5, table 3.0"):
        trained.check_extraction(dataclasses.replace(table, sr=22050, segment=3.0))
    # a model trained on a table without sidecar only knows track vs segment
    assumed = model(saved["assumed_segment_other_columns"])
    assumed.check_extraction(ExtractionSettings(sr=16000, segment=3.0))
    with pytest.raises(ModelFileError, match="segment: model 3.0, table None"):
        assumed.check_extraction(ExtractionSettings(sr=16000))
    # a model without settings assumes the published ones; broken settings are one clear error
    assert model(None, is_segment_table=True).extraction.segment == 3.0
    with pytest.raises(ModelFileError, match="invalid extraction settings.*'sr' parameter"):
        _ = model({"sr": -1}).extraction


def test_save_model_stores_settings_as_their_dict(tmp_path):
    import warnings

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from featurelab.models import load_model, save_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression().fit(np.array([[0.0], [1.0], [0.1], [0.9]]), ["a", "b", "a", "b"])
    settings = ExtractionSettings(segment=3.0)
    meta = {"feature_names": ["x"], "classes": ["a", "b"], "extraction": settings}
    save_model(clf, tmp_path, metadata=meta, formats=("skops",))
    assert json.loads((tmp_path / "model.json").read_text())["extraction"] == settings.to_dict()
    assert load_model(tmp_path).extraction == settings


def test_differences():
    model = ExtractionSettings(segment=3.0)
    assert model.differences(ExtractionSettings(segment=3.0, segment_hop=1.0, segment_mode="exact")) == []
    assert model.differences({"features": ["gtzan", "contrast"], "segment": 3.0}, labels=("a", "b")) == [
        "features: a ['gtzan'], b ['gtzan', 'contrast']"
    ]


# ----------------------------------------------------------------------------- cache keys
def test_cache_descriptions_are_those_of_version_0_1():
    """Resume caches of earlier runs stay valid: the key parts did not change."""
    versions = {"gtzan": "1", "contrast": "2"}
    settings = ExtractionSettings(features="gtzan,contrast", segment=3.0)
    assert settings.cache_description("track", versions) == {
        "kind": "track",
        "features": [["gtzan", "1"], ["contrast", "2"]],
        "sr": 22050,
    }
    assert settings.cache_description("segment", versions) == {
        "kind": "segment",
        "features": [["gtzan", "1"], ["contrast", "2"]],
        "sr": 22050,
        "segment": 3.0,
        "segment_hop": None,
        "segment_mode": "gtzan",
    }
    assert dataclasses.replace(settings, backend="pyaudioanalysis").cache_key_values("segment") == (
        settings.cache_key_values("segment")
    )


def test_a_new_option_is_one_field():
    """A field declared with _option reaches every place settings go, with no other code."""

    @dataclasses.dataclass(frozen=True, eq=False)  # (in ExtractionSettings itself: one line)
    class Settings(ExtractionSettings):
        pre_emphasis: float = _option(0.0)

    assert "pre_emphasis" in Settings.option_names()
    settings = Settings.from_options({"pre_emphasis": 0.97, "segment": 3.0, "out": "t.csv"})
    assert settings.pre_emphasis == 0.97
    assert settings.sidecar()["pre_emphasis"] == 0.97
    assert Settings.from_dict(settings.to_dict()) == settings
    assert settings.cache_key_values("track") == {"sr": 22050, "pre_emphasis": 0.97}
    assert settings.differences(Settings(segment=3.0), labels=("model", "table")) == [
        "pre_emphasis: model 0.97, table 0.0"
    ]
    assert Settings.coerce(pre_emphasis=0.5).pre_emphasis == 0.5


# ----------------------------------------------------------------------------- generalization options
def test_generalization_options_are_optional_fields():
    """normalize, short_clips and augmentation: absent from the files while at their default."""
    plain = ExtractionSettings(segment=3.0)
    assert "normalize" not in plain.sidecar() and "augment" not in plain.to_dict()
    assert plain.cache_key_values("segment") == {
        "sr": 22050,
        "segment": 3.0,
        "segment_hop": None,
        "segment_mode": "gtzan",
    }
    settings = ExtractionSettings(
        segment=3.0, normalize="rms", short_clips="loop", augment=" shift ", copies=2
    )
    data = settings.to_dict(provenance=False)
    assert {k: data[k] for k in ("normalize", "short_clips", "augment", "copies")} == {
        "normalize": "rms",
        "short_clips": "loop",
        "augment": "shift",
        "copies": 2,
    }
    assert "augment_seed" not in data
    assert ExtractionSettings.from_dict(data) == settings
    assert settings.cache_key_values("track") == {
        "sr": 22050,
        "normalize": "rms",
        "augment": "shift",
        "copies": 2,
    }
    assert "short_clips" not in settings.for_table("track").to_dict()
    assert settings != plain and ExtractionSettings(normalize="none") == ExtractionSettings()


def test_normalize_must_match_augmentation_need_not():
    model = ExtractionSettings(segment=3.0, normalize="rms", augment="shift")
    assert model.differences(ExtractionSettings(segment=3.0), labels=("model", "table")) == [
        "normalize: model 'rms', table 'none'"
    ]
    assert (
        ExtractionSettings(segment=3.0, short_clips="pad").differences(ExtractionSettings(segment=3.0)) == []
    )


def test_settings_for_prediction():
    model = ExtractionSettings(segment=3.0, normalize="peak", augment="shift", copies=3, augment_seed=4)
    predict = model.for_prediction()
    assert (predict.augment, predict.copies, predict.augment_seed) == (None, 1, 0)
    assert predict.normalize == "peak" and predict.short_clips == "loop" and predict.segment == 3.0
    assert ExtractionSettings(segment=3.0, short_clips="window").for_prediction().short_clips == "window"
    assert ExtractionSettings().for_prediction() == ExtractionSettings()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"normalize": "loud"}, "'normalize' parameter"),
        ({"short_clips": "skip"}, "'short_clips' parameter"),
        ({"copies": 2}, "copies needs augment"),
        ({"augment_seed": 1}, "augment_seed needs augment"),
        ({"augment": "shift", "copies": 0}, "'copies' parameter"),
        ({"augment": "reverb=1"}, "unknown transform or preset 'reverb'"),
    ],
)
def test_invalid_generalization_options(options, message):
    with pytest.raises(ParameterError, match=message):
        ExtractionSettings(**options)


def test_a_named_combination_is_stored_as_its_sets():
    settings = ExtractionSettings(features="generalize,contrast")
    assert settings.features == ("gtzan", "musicnn", "musicnn_vgg", "contrast")
    assert settings == ExtractionSettings(features="gtzan,musicnn,musicnn_vgg,contrast")
    assert ExtractionSettings.from_dict(settings.to_dict()).features == settings.features
