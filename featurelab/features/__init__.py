"""Feature extraction: the GTZAN schema and other registered feature sets."""

from __future__ import annotations

from ..jit_cache import ensure_numba_cache
from .registry import (
    BACKENDS,
    FeatureSet,
    available_feature_sets,
    get_feature_set,
    register_feature_set,
    resolve_feature_sets,
)
from .schema import GTZAN_FEATURE_COLUMNS, gtzan_columns

ensure_numba_cache()  # before any cache=True kernel (ours, librosa's) is defined: see jit_cache

__all__ = [
    "BACKENDS",
    "FeatureSet",
    "available_feature_sets",
    "get_feature_set",
    "register_feature_set",
    "resolve_feature_sets",
    "GTZAN_FEATURE_COLUMNS",
    "gtzan_columns",
]

# Built-in sets. Implementations are imported lazily on first use.
register_feature_set(
    FeatureSet(
        name="gtzan",
        description="The published GTZAN features_30_sec.csv schema (57 columns: chroma, rms, "
        "spectral, zcr, harmony/perceptr, tempo, 20 MFCCs, mean/var).",
        compute="featurelab.features.gtzan:gtzan_features",
        compute_batch="featurelab.features.gtzan:gtzan_features_batch",
        version="1",
        n_columns=57,
    )
)
register_feature_set(
    FeatureSet(
        name="pyaudioanalysis",
        description="pyAudioAnalysis mid-term statistics (mean/std) of its 68 short-term features.",
        compute="featurelab.features.pyaa:pyaudioanalysis_features",
        version="1",
        requires=("pyAudioAnalysis", "eyed3", "pydub"),
        n_columns=136,
    )
)
register_feature_set(
    FeatureSet(
        name="contrast",
        description="Spectral contrast of 6 octave bands + residual (dB): mean/var "
        "(contrast1_mean..contrast7_var).",
        compute="featurelab.features.extras:contrast_features",
        n_columns=14,
    )
)
register_feature_set(
    FeatureSet(
        name="tonnetz",
        description="Tonal centroids from chroma_cqt: mean/var (tonnetz1_mean..tonnetz6_var).",
        compute="featurelab.features.extras:tonnetz_features",
        n_columns=12,
    )
)
register_feature_set(
    FeatureSet(
        name="mfcc_delta",
        description="Delta and delta-delta of the 20 MFCCs: mean/var (mfcc1_delta_mean..mfcc20_delta2_var).",
        compute="featurelab.features.extras:mfcc_delta_features",
        n_columns=80,
    )
)
register_feature_set(
    FeatureSet(
        name="spectral_flatness",
        description="Spectral flatness: mean/var.",
        compute="featurelab.features.extras:spectral_flatness_features",
        n_columns=2,
    )
)
register_feature_set(
    FeatureSet(
        name="onset",
        description="Onset strength mean/var and detected onsets per second (onset_rate).",
        compute="featurelab.features.extras:onset_features",
        n_columns=3,
    )
)

_MUSICNN_HINT = (
    "pip install torch==2.13.0 && pip install 'featurelab[nn]' && pip install --no-deps musicnn==0.1.0"
)
register_feature_set(
    FeatureSet(
        name="musicnn",
        description="musicnn (MSD) pretrained CNN, run in PyTorch: mean/std over 3 s patches of the "
        "200-d penultimate embedding + mean probabilities of its 50 tags (450 columns).",
        compute="featurelab.features.musicnn:musicnn_features",
        compute_batch="featurelab.features.musicnn:musicnn_features_batch",
        requires=("torch", "musicnn"),
        install_hint=_MUSICNN_HINT,
        n_columns=450,
    )
)
register_feature_set(
    FeatureSet(
        name="musicnn_mtt",
        description="musicnn (MagnaTagATune) pretrained CNN: embedding mean/std + 50 tag "
        "probabilities (450 columns, prefix musicnn_mtt_).",
        compute="featurelab.features.musicnn:musicnn_mtt_features",
        compute_batch="featurelab.features.musicnn:musicnn_mtt_features_batch",
        requires=("torch", "musicnn"),
        install_hint=_MUSICNN_HINT,
        n_columns=450,
    )
)

# The other published models of the musicnn wheel and pooled variants: one compute function,
# told the model and the pooling statistics by ``defaults``.
_POOLED = ("mean", "std", "max")
for _name, _model, _pool, _description in (
    (
        "musicnn_vgg",
        "MSD_vgg",
        ("mean", "std"),
        "musicnn's VGG-like baseline (MSD), run in PyTorch: mean/std over 3 s patches of the 256-d "
        "flattened last pooling layer + 50 tag probabilities (562 columns, prefix musicnn_vgg_).",
    ),
    (
        "musicnn_mtt_vgg",
        "MTT_vgg",
        ("mean", "std"),
        "musicnn's VGG-like baseline (MagnaTagATune): 256-d embedding mean/std + 50 tag "
        "probabilities (562 columns, prefix musicnn_mtt_vgg_).",
    ),
    (
        "musicnn_pooled",
        "MSD_musicnn",
        _POOLED,
        "The musicnn set with max pooling added: mean/std/max over 3 s patches of the 200-d "
        "embedding + 50 tag probabilities (650 columns; its mean/std columns are musicnn's).",
    ),
    (
        "musicnn_mtt_pooled",
        "MTT_musicnn",
        _POOLED,
        "musicnn_mtt with max pooling added: 200-d embedding mean/std/max + 50 tag probabilities "
        "(650 columns; its mean/std columns are musicnn_mtt's).",
    ),
    (
        "musicnn_vgg_pooled",
        "MSD_vgg",
        _POOLED,
        "musicnn_vgg with max pooling added: 256-d embedding mean/std/max + 50 tag probabilities "
        "(818 columns; its mean/std columns are musicnn_vgg's).",
    ),
    (
        "musicnn_mtt_vgg_pooled",
        "MTT_vgg",
        _POOLED,
        "musicnn_mtt_vgg with max pooling added: 256-d embedding mean/std/max + 50 tag "
        "probabilities (818 columns; its mean/std columns are musicnn_mtt_vgg's).",
    ),
):
    register_feature_set(
        FeatureSet(
            name=_name,
            description=_description,
            compute="featurelab.features.musicnn:musicnn_features",
            compute_batch="featurelab.features.musicnn:musicnn_features_batch",
            requires=("torch", "musicnn"),
            install_hint=_MUSICNN_HINT,
            defaults={"model": _model, "pool": _pool},
            # the embedding (200-d musicnn, 256-d vgg) per pooling statistic + 50 tag probabilities
            n_columns=(256 if _model.endswith("vgg") else 200) * len(_pool) + 50,
        )
    )
