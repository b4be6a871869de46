"""A PyTorch multilayer perceptron with the scikit-learn estimator contract.

:class:`MLPTorchClassifier` trains a fully connected network (configurable widths, BatchNorm,
dropout) with AdamW, weight decay, label smoothing, ``ReduceLROnPlateau`` and early stopping on a
stratified validation split carved out of the training data given to :meth:`~MLPTorchClassifier.fit`
(never out of a test fold). It clones, pickles and grid-searches like any scikit-learn classifier,
so the registry's ``mlp_torch`` model runs through the same cross-validation, grouping, metrics and
run directories as the classical models.

PyTorch is an optional dependency (the ``[nn]`` extra): this module imports it only inside the
methods that need it, so ``import featurelab.models.neural`` works without it and ``fit`` raises a
:class:`~featurelab.exceptions.ParameterError` with the install hint.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from sklearn.pipeline import Pipeline

__all__ = ["MLPTorchClassifier", "make_mlp_torch", "import_torch", "resolve_device", "torch_scope"]

#: How to get PyTorch: the CPU wheel first, or pip resolves several GB of CUDA wheels.
TORCH_INSTALL_HINT = "pip install torch==2.13.0 && pip install 'featurelab[nn]'"


def import_torch() -> Any:
    """Import :mod:`torch`, or explain how to install it.

    Returns
    -------
    torch : module
        The imported :mod:`torch` module.

    Raises
    ------
    ParameterError
        PyTorch is not installed.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise ParameterError(
            f"The neural-network models need PyTorch, which is not installed ({error}). "
            f"Install the CPU build and the extra: {TORCH_INSTALL_HINT}"
        ) from error


def resolve_device(device: str) -> str:
    """Map ``"auto"`` / ``"cpu"`` / ``"cuda"`` (or ``"cuda:N"``) to a usable torch device name.

    Parameters
    ----------
    device : str
        ``"auto"`` picks CUDA when available, else the CPU.

    Returns
    -------
    device : str
        ``"cpu"`` or a CUDA device name.

    Raises
    ------
    ParameterError
        Unknown device name, or CUDA requested but not available.
    """
    torch = import_torch()
    if not isinstance(device, str):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda'. Got {device!r} instead.")
    name = device.strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ParameterError(
                f"device must be a usable device. Got {device!r}, but this PyTorch build sees no "
                "CUDA GPU; use --device cpu (or auto)."
            )
        return name
    raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda'. Got {device!r} instead.")


@contextlib.contextmanager
def torch_scope(seed: int, threads: int | None, device: str = "cpu") -> Iterator[Any]:
    """Seed PyTorch and set its thread count for one block, restoring both afterwards.

    The global RNG state (CPU, and CUDA when ``device`` is a GPU) is forked, so seeding here has no
    effect on the caller's random streams; the intra-op thread count is restored on exit.

    Parameters
    ----------
    seed : int
        Seed for :func:`torch.manual_seed` inside the block.
    threads : int or None
        Intra-op threads inside the block; ``None``, 0 or negative keep the current setting.
    device : str
        Resolved device name (``"cpu"`` or ``"cuda..."``).

    Yields
    ------
    torch : module
        The :mod:`torch` module.
    """
    torch = import_torch()
    previous = torch.get_num_threads()
    devices: list[int] = []
    if device.startswith("cuda"):
        devices = [torch.device(device).index or 0]
    try:
        if threads is not None and threads > 0 and threads != previous:
            torch.set_num_threads(int(threads))
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            yield torch
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _seed_int(random_state: Any) -> int:
    """Turn an int, ``None`` or a numpy random state into a non-negative int seed."""
    if random_state is None:
        return int(np.random.SystemRandom().randint(0, 2**31 - 1))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) % (2**32)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ParameterError(
        f"random_state must be an int, None or a numpy RandomState. Got {random_state!r} instead."
    )


def build_mlp(
    n_features: int,
    n_classes: int,
    hidden: Sequence[int],
    *,
    dropout: float,
    batchnorm: bool,
) -> torch.nn.Module:
    """Build the network: ``[Linear -> (BatchNorm) -> ReLU -> Dropout] * len(hidden) -> Linear``.

    Parameters
    ----------
    n_features : int
        Input width.
    n_classes : int
        Output width (logits).
    hidden : sequence of int
        Hidden layer widths.
    dropout : float
        Dropout probability after each hidden layer.
    batchnorm : bool
        Insert :class:`torch.nn.BatchNorm1d` after each hidden linear layer.

    Returns
    -------
    module : torch.nn.Module
        The network (a :class:`torch.nn.Sequential`), float32, on the CPU.
    """
    torch = import_torch()
    nn = torch.nn
    layers: list[Any] = []
    width = n_features
    for size in hidden:
        layers.append(nn.Linear(width, int(size), bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm1d(int(size)))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


class MLPTorchClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier trained with PyTorch.

    Feed standardized features (:func:`make_mlp_torch` puts a ``StandardScaler`` in front).
    Training uses AdamW, cross-entropy with label smoothing, ``ReduceLROnPlateau`` on the monitored
    loss, and early stopping on a stratified ``validation_fraction`` of the data passed to
    :meth:`fit`; the weights of the best validation epoch are restored.

    Parameters
    ----------
    hidden : tuple of int
        Widths of the hidden layers.
    dropout : float
        Dropout probability after each hidden layer, in [0, 1).
    batchnorm : bool
        Batch normalization after each hidden linear layer.
    lr : float
        Initial AdamW learning rate.
    weight_decay : float
        AdamW (decoupled) weight decay.
    label_smoothing : float
        Label smoothing of the training loss, in [0, 1).
    batch_size : int
        Mini-batch size.
    max_epochs : int
        Maximum number of passes over the training data.
    patience : int
        Stop after this many epochs without improvement of the validation loss; the learning rate
        is halved after ``max(1, patience // 4)`` epochs without improvement.
    validation_fraction : float
        Fraction of the training data held out (stratified) for early stopping, in [0, 1). With 0,
        or too few samples to split, the network trains for ``max_epochs`` and the training loss
        drives the scheduler.
    class_weight : dict, "balanced" or None
        Weights of the classes in the loss, as in scikit-learn.
    random_state : int, RandomState or None
        Seed of weight initialization, dropout, shuffling and the validation split. PyTorch's global
        random state is forked, so fitting leaves the caller's random streams untouched.
    n_jobs : int or None
        PyTorch intra-op threads during ``fit``/``predict`` (restored afterwards); ``None`` keeps
        PyTorch's current setting.
    device : {"auto", "cpu", "cuda"}
        Where to train; ``"auto"`` uses a CUDA GPU when one is available. Prediction runs on the
        CPU.
    verbose : bool
        Print one line per epoch to standard error.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)]
        Class labels.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : np.ndarray [shape=(n_features_in_,)]
        Feature names, when ``X`` was a DataFrame with string column names.
    state_dict_ : dict of str to np.ndarray
        The restored (best) network weights as numpy arrays, so the estimator pickles without torch
        objects.
    history_ : list of dict
        One entry per epoch: ``epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr``.
    best_epoch_ : int
        The (1-based) epoch whose weights were restored.
    n_iter_ : int
        Number of epochs run.
    fit_time_ : float
        Seconds spent in :meth:`fit`.
    device_ : str
        Device used for training.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.models.neural import MLPTorchClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-2, 1, (50, 4)), rng.normal(2, 1, (50, 4))]
    >>> y = np.repeat(["a", "b"], 50)
    >>> clf = MLPTorchClassifier(hidden=(16,), max_epochs=30).fit(X, y)
    >>> float((clf.predict(X) == y).mean()) > 0.9
    True
    """

    def __init__(
        self,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.3,
        batchnorm: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.1,
        batch_size: int = 64,
        max_epochs: int = 200,
        patience: int = 20,
        validation_fraction: float = 0.15,
        class_weight: Mapping[Any, float] | str | None = None,
        random_state: int | np.random.RandomState | None = 0,
        n_jobs: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.lr = lr
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> tuple[int, ...]:
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)):
            hidden = (int(hidden),)
        try:
            hidden = tuple(int(h) for h in hidden)
        except (TypeError, ValueError):
            hidden = ()
        if not hidden or any(h < 1 for h in hidden):
            raise ParameterError(
                f"hidden must be a non-empty sequence of positive layer widths. Got {self.hidden!r} instead."
            )
        checks = [
            ("dropout", self.dropout, 0.0 <= self.dropout < 1.0, "a float in [0, 1)"),
            ("lr", self.lr, self.lr > 0, "a positive float"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "a float >= 0"),
            (
                "label_smoothing",
                self.label_smoothing,
                0.0 <= self.label_smoothing < 1.0,
                "a float in [0, 1)",
            ),
            (
                "validation_fraction",
                self.validation_fraction,
                0.0 <= self.validation_fraction < 1.0,
                "a float in [0, 1)",
            ),
        ]
        for name, value, ok, what in checks:
            if not isinstance(value, (int, float, np.number)) or not ok:
                raise ParameterError(f"{name} must be {what}. Got {value!r} instead.")
        for name in ("batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer. Got {value!r} instead.")
        return hidden

    def _class_weights(self, y_enc: np.ndarray, n_classes: int) -> np.ndarray | None:
        cw = self.class_weight
        if cw is None:
            return None
        if isinstance(cw, str):
            if cw != "balanced":
                raise ParameterError(f"class_weight must be None, 'balanced' or a dict. Got {cw!r} instead.")
            counts = np.bincount(y_enc, minlength=n_classes).astype(np.float64)
            counts[counts == 0] = 1.0
            return len(y_enc) / (n_classes * counts)
        if isinstance(cw, Mapping):
            weights = np.ones(n_classes)
            index = {label: i for i, label in enumerate(self.classes_.tolist())}
            for label, weight in cw.items():
                key = label.item() if isinstance(label, np.generic) else label
                if key not in index:
                    raise ParameterError(
                        f"class_weight keys must be class labels {sorted(index, key=str)}. "
                        f"Got {label!r} instead."
                    )
                weights[index[key]] = float(weight)
            return weights
        raise ParameterError(f"class_weight must be None, 'balanced' or a dict. Got {cw!r} instead.")

    def _split(self, y_enc: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the indices of the training part and of the early-stopping part (or None)."""
        n = len(y_enc)
        index = np.arange(n)
        if self.validation_fraction <= 0:
            return index, None
        n_val = int(math.ceil(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 2:
            return index, None
        from sklearn.model_selection import train_test_split

        counts = np.bincount(y_enc)
        n_classes = int(np.count_nonzero(counts))
        stratify = y_enc if (counts[counts > 0].min() >= 2 and n_val >= n_classes) else None
        if stratify is not None and n - n_val < n_classes:
            stratify = None
        train_idx, val_idx = train_test_split(index, test_size=n_val, random_state=seed, stratify=stratify)
        return np.sort(train_idx), np.sort(val_idx)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> MLPTorchClassifier:
        """Train the network.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Training features (standardize them first).
        y : array-like [shape=(n_samples,)]
            Class labels.

        Returns
        -------
        self : MLPTorchClassifier
            The fitted estimator.

        Raises
        ------
        ParameterError
            Invalid hyper-parameters, or PyTorch is not installed.
        ValueError
            Invalid ``X``/``y`` (NaN, wrong shape, a single class, ...).
        """
        start = time.perf_counter()
        hidden = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_min_samples=1)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"y must contain at least 2 classes. Got 1 class ({self.classes_[0]!r}) instead."
            )
        weights = self._class_weights(y_enc, n_classes)
        device = resolve_device(self.device)
        seed = _seed_int(self.random_state)
        train_idx, val_idx = self._split(y_enc, seed)

        with torch_scope(seed, self.n_jobs, device) as torch:
            module = build_mlp(
                X.shape[1], n_classes, hidden, dropout=float(self.dropout), batchnorm=self.batchnorm
            ).to(device)
            result = self._train(torch, module, X, y_enc, train_idx, val_idx, weights, device, seed)
        self.state_dict_, self.history_, self.best_epoch_ = result
        self.n_iter_ = len(self.history_)
        self.device_ = device
        self.fit_time_ = time.perf_counter() - start
        return self

    def _train(
        self,
        torch: Any,
        module: Any,
        X: np.ndarray,
        y_enc: np.ndarray,
        train_idx: np.ndarray,
        val_idx: np.ndarray | None,
        weights: np.ndarray | None,
        device: str,
        seed: int,
    ) -> tuple[dict[str, np.ndarray], list[dict[str, float]], int]:
        nn = torch.nn
        # Class weights act as sample weights normalized by the training set's mean weight (as in
        # scikit-learn), not per batch, so a batch that happens to hold only light classes does not
        # get full-size gradients.
        class_w = np.ones(int(y_enc.max()) + 1) if weights is None else np.asarray(weights)
        class_w_t = torch.as_tensor(class_w, dtype=torch.float32).to(device)
        mean_w = float(class_w[y_enc[train_idx]].mean()) or 1.0
        criterion = nn.CrossEntropyLoss(reduction="none", label_smoothing=float(self.label_smoothing))
        monitor = nn.CrossEntropyLoss(reduction="none")
        optimizer = torch.optim.AdamW(
            module.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay)
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.5, patience=max(1, int(self.patience) // 4)
        )
        X_all = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
        y_all = torch.from_numpy(y_enc.astype(np.int64)).to(device)
        X_tr, y_tr = X_all[train_idx], y_all[train_idx]
        X_va = y_va = None
        if val_idx is not None:
            X_va, y_va = X_all[val_idx], y_all[val_idx]
        generator = torch.Generator().manual_seed(seed)
        n_train = len(train_idx)
        # BatchNorm needs two samples per batch (n_train >= 2 is guaranteed by ``_split``).
        batch = max(int(self.batch_size), 2) if self.batchnorm else int(self.batch_size)
        history: list[dict[str, float]] = []
        best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0

        for epoch in range(1, int(self.max_epochs) + 1):
            module.train()
            order = torch.randperm(n_train, generator=generator).to(device)
            total_loss, total_correct, seen = 0.0, 0, 0
            for begin in range(0, n_train, batch):
                idx = order[begin : begin + batch]
                if self.batchnorm and len(idx) < 2:
                    continue  # a trailing batch of one cannot be batch-normalized
                logits = module(X_tr[idx])
                target = y_tr[idx]
                loss = (criterion(logits, target) * class_w_t[target]).sum() / (len(idx) * mean_w)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += float(loss.detach()) * len(idx)
                total_correct += int((logits.detach().argmax(1) == y_tr[idx]).sum())
                seen += len(idx)
            entry = {
                "epoch": epoch,
                "train_loss": total_loss / max(seen, 1),
                "train_accuracy": total_correct / max(seen, 1),
                "val_loss": float("nan"),
                "val_accuracy": float("nan"),
                "lr": float(optimizer.param_groups[0]["lr"]),
            }
            if X_va is not None:
                module.eval()
                with torch.no_grad():
                    logits = module(X_va)
                    w_va = class_w_t[y_va]
                    entry["val_loss"] = float((monitor(logits, y_va) * w_va).sum() / w_va.sum())
                    entry["val_accuracy"] = float((logits.argmax(1) == y_va).float().mean())
                watched = entry["val_loss"]
            else:
                watched = entry["train_loss"]
            history.append(entry)
            if self.verbose:
                print(
                    f"epoch {epoch:4d}  loss {entry['train_loss']:.4f}  "
                    f"acc {entry['train_accuracy']:.3f}  val_loss {entry['val_loss']:.4f}  "
                    f"val_acc {entry['val_accuracy']:.3f}  lr {entry['lr']:.2e}",
                    file=sys.stderr,
                )
            scheduler.step(watched)
            if watched < best_loss - 1e-6 or best_state is None:
                best_loss, best_epoch, stale = watched, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
            else:
                stale += 1
                if X_va is not None and stale >= int(self.patience):
                    break
        assert best_state is not None
        state = {k: v.numpy().copy() for k, v in best_state.items()}
        return state, history, best_epoch

    # ------------------------------------------------------------------ predict
    def _inference_module(self, torch: Any) -> Any:
        """Rebuild the network from ``state_dict_`` in float64 (batch-size independent outputs)."""
        module = build_mlp(
            self.n_features_in_,
            len(self.classes_),
            self._check_params(),
            dropout=float(self.dropout),
            batchnorm=self.batchnorm,
        )
        module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in self.state_dict_.items()})
        return module.double().eval()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Features, scaled as during :meth:`fit`.

        Returns
        -------
        proba : np.ndarray [shape=(n_samples, n_classes)]
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        check_is_fitted(self, "state_dict_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch_scope(0, self.n_jobs) as torch:
            module = self._inference_module(torch)
            with torch.no_grad():
                logits = module(torch.from_numpy(np.ascontiguousarray(X)))
                proba = torch.softmax(logits, dim=1).numpy()
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Features, scaled as during :meth:`fit`.

        Returns
        -------
        y_pred : np.ndarray [shape=(n_samples,)]
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


#: Parameter names accepted by :func:`make_mlp_torch` (those of :class:`MLPTorchClassifier`).
MLP_TORCH_PARAMS = tuple(MLPTorchClassifier().get_params())


def make_mlp_torch(**params: Any) -> Pipeline:
    """Build ``Pipeline([("scale", StandardScaler()), ("clf", MLPTorchClassifier(**params))])``.

    This is the registry factory of the ``mlp_torch`` model; grid parameters address the ``clf``
    step (``clf__hidden``, ``clf__dropout``, ...).

    Parameters
    ----------
    **params
        :class:`MLPTorchClassifier` parameters (``random_state``, ``n_jobs``, ``class_weight``,
        ``hidden``, ...).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Standard scaling followed by the network.

    Raises
    ------
    ParameterError
        An unknown parameter name.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    unknown = sorted(set(params) - set(MLP_TORCH_PARAMS))
    if unknown:
        raise ParameterError(
            f"mlp_torch parameters must be among {', '.join(MLP_TORCH_PARAMS)}. "
            f"Got {', '.join(unknown)} instead."
        )
    return Pipeline([("scale", StandardScaler()), ("clf", MLPTorchClassifier(**params))])
