from . import datasets, features, models, nn, selection
from .arrays import extract_arrays
from .exceptions import AudioLoadError, FeaturelabError, ModelFileError, ParameterError, TableError
from .extraction import extract, extract_features, extract_tables, extract_to_files
from .io import load_audio, read_table, write_table
from .settings import ExtractionSettings

__version__: str

__all__ = [
    "AudioLoadError",
    "ExtractionSettings",
    "FeaturelabError",
    "ModelFileError",
    "ParameterError",
    "TableError",
    "datasets",
    "extract",
    "extract_arrays",
    "extract_features",
    "extract_tables",
    "extract_to_files",
    "features",
    "load_audio",
    "models",
    "nn",
    "read_table",
    "selection",
    "write_table",
]
