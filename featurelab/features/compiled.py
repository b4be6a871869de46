"""featurelab's numba kernels, compiled ahead of time into one extension module where possible.

A numba kernel cached on disk still costs its process ~0.5 s before the first call: importing numba
and initialising its compiler (type registries, LLVM) to load the cached machine code. That is half
of a one-file ``featurelab extract`` and most of what each extraction worker does before its first
file. So the kernels of the GTZAN engine (:mod:`~featurelab.features.hpss`,
:mod:`~featurelab.features.spectral`, :mod:`~featurelab.features.pitch`,
:mod:`~featurelab.features.inverse`) are declared with :func:`kernel`, which lists the argument types
they are called with, and :func:`ensure_compiled` builds all of them once, with numba's ahead-of-time
compiler (:mod:`numba.pycc`, the host CPU's instruction set, numba's ``error_model="numpy"`` as the
JIT kernels use), into an extension module in a private cache folder. Importing that module takes a
millisecond and needs no numba.

The same LLVM code generation, the same operations in the same order and no fast-math: the compiled
module gives the JIT kernels' results bit for bit (``tests/test_compiled.py`` compares whole tables).

A call whose argument types the module was not built for, a process where the module is missing,
damaged or was built for another CPU, numba or Python, an installation without a C compiler, or
``FEATURELAB_COMPILED=0`` in the environment: the kernel is compiled by numba's JIT as before
(``cache=True``), with the same results. The module is built by the extraction driver before its first
file, in a child process (~6 s, once per installation and CPU); a failed build is recorded beside
it with its reason and not tried again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import user_cache_dir
from ..jit_cache import is_private

__all__ = ["Kernel", "kernel", "ensure_compiled", "compiled_module", "module_path", "KERNEL_MODULES"]

#: Modules whose :class:`Kernel` objects go into the compiled module.
KERNEL_MODULES = (
    "featurelab.features.hpss",
    "featurelab.features.spectral",
    "featurelab.features.pitch",
    "featurelab.features.inverse",
)

#: ``FEATURELAB_COMPILED=0`` turns the compiled module off (numba's JIT kernels only).
ENV_SWITCH = "FEATURELAB_COMPILED"
#: Overrides the folder the compiled module is kept in.
ENV_FOLDER = "FEATURELAB_COMPILED_DIR"

#: Seconds a build may take before it is abandoned (and recorded as failed).
BUILD_TIMEOUT = 600


# ----------------------------------------------------------------------------- argument types
def _spec_key(spec: str) -> tuple[str, int, str] | str:
    """Key of a numba type spec: ``"f4[:,::1]"`` -> ``("<f4", 2, "C")``, ``"i8"`` -> ``"<i8"``."""
    dtype, bracket, dims = spec.partition("[")
    name = np.dtype(dtype.strip()).str
    if not bracket:
        return name
    axes = [a.strip() for a in dims.rstrip("]").split(",")]
    if axes[-1] == "::1":
        layout = "C"
    elif axes[0] == "::1":
        layout = "F"
    else:
        layout = "A"
    return (name, len(axes), layout)


def _arg_key(value: Any) -> tuple[str, int, str] | str | None:
    """Return the key numba would type a call argument as (None: no module is built for it)."""
    if isinstance(value, np.ndarray):
        if not value.flags.aligned:
            return None
        flags = value.flags
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        return (value.dtype.str, value.ndim, layout)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return np.dtype(np.int64).str if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        return np.dtype(np.float64).str
    if isinstance(value, np.generic):
        return value.dtype.str
    return None


def _matches(declared: tuple[Any, ...], actual: tuple[Any, ...]) -> bool:
    if len(declared) != len(actual):
        return False
    for want, got in zip(declared, actual, strict=True):
        if isinstance(want, tuple):
            # An "A" (any layout) array takes any array of its dtype and dimensions.
            if not (isinstance(got, tuple) and want[:2] == got[:2] and want[2] in ("A", got[2])):
                return False
        elif want != got:
            return False
    return True


# ----------------------------------------------------------------------------- kernels
class Kernel:
    """A numba kernel: the compiled module's function for its declared types, else numba's JIT.

    Parameters
    ----------
    func : callable
        The kernel's Python source (numba's nopython subset).
    signatures : sequence of (str, sequence of str)
        ``(return type, argument types)`` in numba's type syntax (``"f4[:,:,::1]"``, ``"i8"``,
        ``"UniTuple(f8[:,:,::1], 2)"``): the calls the compiled module serves.
    options : dict
        :func:`numba.njit` options of the JIT fallback.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        signatures: Sequence[tuple[str, Sequence[str]]],
        options: dict[str, Any],
    ):
        self.py_func = func
        self.signatures = tuple((ret, tuple(args)) for ret, args in signatures)
        self.options = dict(options)
        self.name = f"{func.__module__.rpartition('.')[2]}{func.__name__}"
        self._keys = [tuple(_spec_key(a) for a in args) for _, args in self.signatures]
        self._jit: Any = None
        functools.update_wrapper(self, func)

    def export_names(self) -> list[str]:
        """Names of this kernel's functions in the compiled module, one per signature."""
        return [f"{self.name}_{i}" for i in range(len(self.signatures))]

    def compiled_for(self, args: Sequence[Any]) -> Callable[..., Any] | None:
        """Return the compiled module's function for these arguments, or ``None`` (the JIT runs)."""
        module = compiled_module()
        if module is None:
            return None
        actual = tuple(_arg_key(a) for a in args)
        for name, declared in zip(self.export_names(), self._keys, strict=True):
            if _matches(declared, actual):
                return getattr(module, name, None)
        return None

    @property
    def jit(self) -> Any:
        """Return numba's JIT dispatcher of the kernel (numba is imported on first use)."""
        if self._jit is None:
            import numba

            self._jit = numba.njit(**self.options)(self.py_func)
        return self._jit

    def __call__(self, *args: Any) -> Any:
        """Run the kernel: the compiled function for these arguments, else numba's JIT."""
        function = self.compiled_for(args)
        return self.jit(*args) if function is None else function(*args)


def kernel(*signatures: tuple[str, Sequence[str]], **options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """Declare a numba kernel and the argument types the compiled module serves (see :class:`Kernel`)."""

    def wrap(func: Callable[..., Any]) -> Kernel:
        return Kernel(func, signatures, options)

    return wrap


# ----------------------------------------------------------------------------- the compiled module
def _cpu_identity() -> str:
    """Describe the CPU the module is built for (model and instruction-set flags), without numba."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            lines = [
                line
                for line in info.read(65536).splitlines()
                if line.startswith(("model name", "flags", "Features"))
            ]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return f"{platform.machine()} {platform.processor()}"


def _file_bytes(path: str | None) -> bytes:
    try:
        return Path(path).read_bytes() if path else b""
    except OSError:
        return b""


@functools.cache
def module_name() -> str:
    """Name of the compiled module for this installation: a digest of all it depends on."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in (*KERNEL_MODULES, __name__):
        digest.update(_file_bytes(str(here / f"{name.rpartition('.')[2]}.py")))
    numba_spec = importlib.util.find_spec("numba")
    numba_dir = Path(numba_spec.origin).parent if numba_spec and numba_spec.origin else None
    digest.update(_file_bytes(str(numba_dir / "_version.py")) if numba_dir else b"no numba")
    for part in (
        sys.version,
        sys.implementation.cache_tag,
        np.__version__,
        platform.machine(),
        _cpu_identity(),
    ):
        digest.update(str(part).encode())
    return f"_featurelab_kernels_{digest.hexdigest()[:20]}"


def folder() -> Path:
    """Return the folder of the compiled module.

    ``$FEATURELAB_COMPILED_DIR``, else ``kernels`` in featurelab's cache folder
    (:func:`featurelab.cache.user_cache_dir`).
    """
    custom = os.environ.get(ENV_FOLDER)
    return Path(custom) if custom else user_cache_dir() / "kernels"


def module_path() -> Path:
    """Where the compiled module of this installation is (or would be) kept."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return folder() / f"{module_name()}{suffix}"


def enabled() -> bool:
    """Whether the compiled module may be used and built (``FEATURELAB_COMPILED`` is not ``0``)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


@functools.cache
def compiled_module() -> Any:
    """Load the compiled module once per process; ``None`` when absent, disabled or unloadable."""
    if not enabled():
        return None
    path = module_path()
    if not path.is_file() or not (is_private(path) and is_private(path.parent)):
        return None
    try:
        loader = importlib.machinery.ExtensionFileLoader(module_name(), str(path))
        spec = importlib.util.spec_from_file_location(module_name(), path, loader=loader)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        loader.exec_module(module)
    except Exception:  # noqa: BLE001 - a damaged file: numba's JIT serves every call
        return None
    return module


def failure_path() -> Path:
    """Return the record of a failed build (its reason), beside where the module would be."""
    return module_path().with_suffix(".failed")


def ensure_compiled(*, timeout: float = BUILD_TIMEOUT) -> bool:
    """Build the compiled module unless it exists, is disabled, or a build failed before.

    The build runs in a child process (``python -m featurelab.features.compiled``); this process
    never imports numba for it. Several processes building at once are harmless: each writes its own
    temporary file and renames it into place.

    Returns
    -------
    bool
        Whether the module exists now.
    """
    if not enabled():
        return False
    path = module_path()
    if path.is_file():
        if compiled_module() is not None:
            return True
        if not is_private(path.parent):
            return False
        path.unlink(missing_ok=True)  # damaged (e.g. a disk that filled up): built again
    failed = failure_path()
    if failed.exists():
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return False
    if not is_private(path.parent):
        return False
    env = dict(os.environ, **{ENV_SWITCH: "0"})  # the builder imports the kernel modules: no loading
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        reason = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit status"])[-1]
    except (OSError, subprocess.SubprocessError) as error:
        reason = f"{type(error).__name__}: {error}"
    if not reason and path.is_file():
        compiled_module.cache_clear()
        return True
    try:
        failed.write_text((reason or "no module was written") + "\n", encoding="utf-8")
    except OSError:
        pass
    return False


def _kernels() -> list[Kernel]:
    """Every :class:`Kernel` of :data:`KERNEL_MODULES`, in a stable order."""
    found = []
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        found += [value for _, value in sorted(vars(module).items()) if isinstance(value, Kernel)]
    return found


def build(path: Path) -> None:
    """Compile every kernel into the extension module ``path`` (in this process; needs numba.pycc).

    The module is written to a temporary folder beside ``path`` and renamed into place.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc's pending-deprecation notice
        from numba.pycc import CC
        from numba.pycc import compiler as pycc_compiler

    class Flags(pycc_compiler.Flags):  # type: ignore[misc, name-defined]
        """pycc's flags with the JIT kernels' error model (division by zero gives inf/nan)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.error_model = "numpy"

    pycc_compiler.Flags = Flags
    kernels = _kernels()
    if not kernels:
        raise RuntimeError(f"no kernels found in {', '.join(KERNEL_MODULES)}")
    name = path.name.split(".", 1)[0]
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as tmp:
        cc = CC(name)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        cc.verbose = False
        for item in kernels:
            for export, (returns, args) in zip(item.export_names(), item.signatures, strict=True):
                cc.export(export, f"{returns}({', '.join(args)})")(item.py_func)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
        built = next(Path(tmp).glob(f"{name}*"))
        os.chmod(built, 0o700)
        os.replace(built, path)


if __name__ == "__main__":  # pragma: no cover - run by ensure_compiled in a child process
    # Through the package module: run as __main__, this file's Kernel class would be another one.
    from featurelab.features.compiled import build as _build

    _build(Path(sys.argv[1]))
