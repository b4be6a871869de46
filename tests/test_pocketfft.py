"""features._pocketfft: scipy.fft's transforms through scipy's extension alone, bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.fft
from conftest import checkout_env

from featurelab.features import _pocketfft

CASES = [((n,), -1) for n in (1, 2, 5, 17, 128, 1293)] + [((3, 40), -1), ((40, 3), 0), ((2, 33, 4), 1)]


@pytest.fixture(params=["extension", "scipy.fft"])
def backend(request, monkeypatch):
    """Both paths: the extension loaded alone, and the fallback to scipy.fft itself."""
    if request.param == "scipy.fft":
        monkeypatch.setattr(_pocketfft, "_extension", lambda: None)
    elif _pocketfft._extension() is None:  # scipy >= 1.18 computes with ducc0, not pocketfft
        pytest.skip("this scipy has no pocketfft extension: features._pocketfft uses scipy.fft")
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), CASES)
def test_real_transforms_equal_scipy_fft(backend, rng, dtype, shape, axis):
    x = rng.standard_normal(shape).astype(dtype)
    for n in (shape[axis], 2 * shape[axis] + 3, max(1, shape[axis] // 2)):
        want = scipy.fft.rfft(x, n=n, axis=axis)
        got = _pocketfft.rfft(x, n=n, axis=axis)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        back = scipy.fft.irfft(want, n=n, axis=axis)
        got_back = _pocketfft.irfft(want, n=n, axis=axis)
        assert got_back.dtype == back.dtype and np.array_equal(got_back, back)
    assert np.array_equal(_pocketfft.irfft(x, n=8, axis=axis), scipy.fft.irfft(x, n=8, axis=axis))  # real in


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("norm", [None, "ortho"])
def test_dct_equals_scipy_fft(backend, rng, dtype, shape, axis, norm):
    x = (100 * rng.standard_normal(shape)).astype(dtype)
    for kind in (1, 2, 3) if shape[axis] > 1 else (2, 3):
        want = scipy.fft.dct(x, type=kind, axis=axis, norm=norm)
        got = _pocketfft.dct(x, type=kind, axis=axis, norm=norm)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    view = np.asfortranarray(x)[..., ::1]
    assert np.array_equal(
        _pocketfft.dct(view, axis=axis, norm=norm), scipy.fft.dct(view, axis=axis, norm=norm)
    )


def test_next_fast_len_equals_scipy(backend):
    for n in range(1, 3000, 7):
        for real in (False, True):
            assert _pocketfft.next_fast_len(n, real) == scipy.fft.next_fast_len(n, real)


@pytest.mark.skipif(_pocketfft._extension() is None, reason="this scipy has no pocketfft extension")
def test_the_extension_loads_without_scipy_fft_and_scipy_fft_reuses_it():
    code = (
        "import sys\nfrom featurelab.features import _pocketfft\nimport numpy as np\n"
        "x = _pocketfft.dct(np.arange(8.0), norm='ortho')\n"
        "assert 'scipy.fft' not in sys.modules and 'scipy' not in sys.modules, sorted(sys.modules)\n"
        "import scipy.fft\nassert np.array_equal(scipy.fft.dct(np.arange(8.0), norm='ortho'), x)\n"
        "assert scipy.fft._pocketfft.basic.pfft is sys.modules['scipy.fft._pocketfft.pypocketfft']\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=checkout_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
