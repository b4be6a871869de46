"""Feature extraction: the GTZAN schema and other registered feature sets."""

from __future__ import annotations

from .registry import (
    BACKENDS,
    FeatureSet,
    available_feature_sets,
    get_feature_set,
    register_feature_set,
    resolve_feature_sets,
)
from .schema import GTZAN_FEATURE_COLUMNS, gtzan_columns

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
    )
)
register_feature_set(
    FeatureSet(
        name="pyaudioanalysis",
        description="pyAudioAnalysis mid-term statistics (mean/std) of its 68 short-term features.",
        compute="featurelab.features.pyaa:pyaudioanalysis_features",
        version="1",
        requires=("pyAudioAnalysis",),
    )
)
