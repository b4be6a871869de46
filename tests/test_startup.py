"""Start-up weight: what each entry point imports (issue 15), without timing anything.

Every command runs in a fresh interpreter (a subprocess) that reports which heavy packages ended up
in ``sys.modules``; ``bench/latency_bench.py`` measures the seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
from conftest import checkout_env, music_like
from models_helpers import track_table

from featurelab._validation import Integral, Real, deferred, validate_params
from featurelab.exceptions import ParameterError
from featurelab.features import _pocketfft, compiled
from featurelab.models import _skops_fast, load_model, make_model, save_model
from featurelab.models.persist import TRUSTED_TYPES
from featurelab.models.zoo import with_probabilities

HEAVY = ("pandas", "pyarrow", "sklearn", "torch", "matplotlib", "skops.io", "numba", "scipy", "librosa")
#: Reported too, to show that a check sees what a command really imports.
ENGINE = "featurelab.features.gtzan"

_REPORT = "import json, sys; print('MODULES=' + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"


def _imported(code: str, tmp_path) -> set[str]:
    """Run ``code`` in a new interpreter; return the HEAVY packages it imported."""
    script = code + "\n" + _REPORT.format(heavy=(*HEAVY, ENGINE))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = [text for text in done.stdout.splitlines() if text.startswith("MODULES=")][-1]
    return set(json.loads(line.removeprefix("MODULES=")))


def test_import_featurelab_extract_is_light(tmp_path):
    code = "import featurelab; featurelab.extract; featurelab.ExtractionSettings"
    assert _imported(code, tmp_path) == set()


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "t.csv"],
        ["-o", "t.csv", "-j", "2"],
        ["--segment", "3", "-o", "t3.csv", "--track-out", "tt.csv"],
        ["--segment", "3", "-o", "t3.csv", "--track-out", "tt.csv", "-j", "1", "--no-cache"],
    ],
)
def test_extract_to_csv_imports_no_table_model_or_librosa_package(tmp_path, write_wav, options):
    write_wav("one.wav", np.clip(music_like(7.0), -1, 1))
    code = f"from featurelab.cli import main\nassert main(['extract', 'one.wav', '-q', *{options!r}]) == 0\n"
    imported = _imported(code, tmp_path)
    # No table library for a CSV, no model library, and an engine without librosa (whose import
    # costs seconds of scipy.signal/scipy.stats/numba wrappers).
    forbidden = {"pandas", "pyarrow", "sklearn", "torch", "matplotlib", "skops.io", "librosa"}
    assert not imported & forbidden, imported
    assert ENGINE in imported  # the check sees what the command really imports
    if _pocketfft._extension() is not None:  # (scipy < 1.18) the engine's transforms need no scipy.fft
        assert "scipy" not in imported
    if compiled.module_path().is_file():  # built by the first run (where a C compiler exists)
        assert "numba" not in imported  # the compiled kernels need no numba
    for name in options[1::2]:
        if name.endswith(".csv"):
            assert (tmp_path / name).stat().st_size > 0


def test_extract_with_failed_inputs_writes_the_errors_csv_without_pandas(tmp_path, write_wav):
    write_wav("in/x/one.wav", np.clip(music_like(1.5), -1, 1))
    (tmp_path / "in" / "x" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    command = ["extract", "in", "-o", "t.csv", "-q", "-j", "2"]
    code = f"from featurelab.cli import main\nassert main({command!r}) == 1\n"  # 1: some inputs failed
    imported = _imported(code, tmp_path)
    assert not imported & {"pandas", "pyarrow"}, imported
    assert "broken.wav" in (tmp_path / "t.errors.csv").read_text()


def _svm_run(tmp_path):
    from featurelab.features.schema import GTZAN_FEATURE_COLUMNS

    features = GTZAN_FEATURE_COLUMNS[:8]
    table = track_table(10)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((len(table), len(features))) + table["label"].factorize()[0][:, None]
    model = with_probabilities(make_model("svm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, table["label"])
    metadata = {
        "model": "svm",
        "feature_names": features,
        "classes": [str(c) for c in model.classes_],
        "extraction": {"features": ["gtzan"], "sr": 22050, "segment": None},
    }
    save_model(model, tmp_path / "run", metadata=metadata)
    return tmp_path / "run", model


def test_predict_with_an_svm_imports_no_model_or_table_library(tmp_path, write_wav):
    _svm_run(tmp_path)
    write_wav("one.wav", np.clip(music_like(1.5), -1, 1))
    code = "from featurelab.cli import main\nassert main(['predict', 'run', 'one.wav']) == 0\n"
    imported = _imported(code, tmp_path)
    # numpy computes the calibrated SVM's probabilities (models._light); the rows never become a
    # DataFrame
    assert not imported & {"sklearn", "pandas", "pyarrow", "torch", "matplotlib", "skops.io"}, imported
    assert ENGINE in imported  # the check sees what the command really imports
    code = code + "from featurelab.models import load_model\nload_model('run').estimator\n"
    assert "sklearn" in _imported(code, tmp_path)  # reading the estimator builds it


# ----------------------------------------------------------------------------- the light skops reader
@pytest.mark.parametrize("name", ["svm", "logreg", "knn"])
def test_fast_reader_builds_what_skops_builds(tmp_path, name):
    import skops.io as sio

    table = track_table(10)
    features = ["signal_mean", "spread_var", "noise0_mean"]
    model = with_probabilities(make_model(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(table[features], table["label"])
    sio.dump({"estimator": model, "names": ("a", "b"), "k": 3}, tmp_path / "m.skops")
    fast = _skops_fast.load(tmp_path / "m.skops", TRUSTED_TYPES)
    assert fast is not None, "the reader should cover this registry model"
    reference = sio.load(tmp_path / "m.skops", trusted=sio.get_untrusted_types(file=tmp_path / "m.skops"))
    assert fast["names"] == reference["names"] == ("a", "b") and fast["k"] == 3
    assert type(fast["estimator"]) is type(reference["estimator"])
    X = table[features]
    np.testing.assert_array_equal(fast["estimator"].predict_proba(X), reference["estimator"].predict_proba(X))
    np.testing.assert_array_equal(fast["estimator"].predict_proba(X), model.predict_proba(X))


def test_fast_reader_trusts_no_more_than_skops_and_featurelab():
    from skops.io import _trusted_types as skops_trusted

    allowed = _skops_fast.allowlist(TRUSTED_TYPES)
    extra = set(TRUSTED_TYPES)
    assert set(_skops_fast.SKLEARN_OBJECTS) <= set(skops_trusted.SKLEARN_ESTIMATOR_TYPE_NAMES)
    assert _skops_fast.numpy_dtype_names() <= set(skops_trusted.NUMPY_DTYPE_TYPE_NAMES)
    basics = set(skops_trusted.PRIMITIVE_TYPE_NAMES + skops_trusted.CONTAINER_TYPE_NAMES)
    assert allowed["TypeNode"] - extra <= basics | set(skops_trusted.NUMPY_DTYPE_TYPE_NAMES)
    assert allowed["NdArrayNode"] - extra <= {"numpy.ndarray", *skops_trusted.NUMPY_DTYPE_TYPE_NAMES}
    assert allowed["CachedNode"] == extra


def _rewrite_schema(path, edit):
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    edit(schema)
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_fast_reader_leaves_untrusted_or_unknown_files_to_skops(tmp_path):
    run, _ = _svm_run(tmp_path)
    path = run / "model.skops"
    assert _skops_fast.load(path, TRUSTED_TYPES) is not None

    def smuggle(schema):  # the estimator's class becomes a function the allowlist does not hold
        schema["content"]["estimator"]["__module__"] = "builtins"
        schema["content"]["estimator"]["__class__"] = "exec"

    _rewrite_schema(path, smuggle)
    assert _skops_fast.load(path, TRUSTED_TYPES) is None
    for edit in (lambda s: s.update(protocol=1), lambda s: s.update(protocol=True)):
        _svm_run(tmp_path)
        _rewrite_schema(path, edit)
        assert _skops_fast.load(path, TRUSTED_TYPES) is None
    path.write_bytes(b"not a zip")
    assert _skops_fast.load(path, TRUSTED_TYPES) is None


def test_load_model_still_refuses_what_skops_refuses(tmp_path):
    run, _ = _svm_run(tmp_path)

    def smuggle(schema):
        schema["content"]["estimator"]["__module__"] = "builtins"
        schema["content"]["estimator"]["__class__"] = "exec"

    _rewrite_schema(run / "model.skops", smuggle)
    (run / "model.json").unlink()  # no checksum to stop it first
    from featurelab.exceptions import ModelFileError

    with pytest.raises(ModelFileError, match="builtins.exec"):
        load_model(run)


# ----------------------------------------------------------------------------- deferred constraints
_CONSTRAINTS = [
    ("Interval", (Real, 0, None), {"closed": "neither"}),
    ("Interval", (Real, 0, 1), {"closed": "left"}),
    ("Interval", (Real, None, 1), {"closed": "right"}),
    ("Interval", (Integral, 1, None), {"closed": "left"}),
    ("Interval", (Integral, 1000, 768000), {"closed": "both"}),
    ("StrOptions", ({"gtzan", "exact"},), {}),
]
_VALUES = [0, 1, -1, 3, 999, 1000, 768000, 10**400, 0.0, 0.5, 1.0, 3.0, -0.0, float("inf"), float("nan")]
_VALUES += [True, False, None, "gtzan", "exact", "fast", "", np.float64(1.0), np.int64(3), [1]]


@pytest.mark.parametrize(("kind", "args", "kwargs"), _CONSTRAINTS)
def test_deferred_constraints_accept_only_what_sklearn_accepts(kind, args, kwargs):
    constraint = deferred.__getattr__(kind)(*args, **kwargs)
    real = constraint.build()
    for value in _VALUES:
        if constraint.plainly_satisfied_by(value):
            assert real.is_satisfied_by(value), (value, constraint)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = real.is_satisfied_by(value)
        if expected:
            validate_params({"x": value}, {"x": [constraint]}, caller="f")
        else:
            with pytest.raises(ParameterError, match="The 'x' parameter of f must be"):
                validate_params({"x": value}, {"x": [constraint]}, caller="f")


def test_parquet_without_pyarrow_is_one_clear_error(monkeypatch):
    import importlib.util

    from featurelab.io import table_format

    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "pyarrow" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert table_format("t.csv") == "csv"
    with pytest.raises(ParameterError, match=r"needs pyarrow .* pip install 'featurelab\[parquet\]'"):
        table_format("t.parquet")
