"""A PyTorch multilayer perceptron with the scikit-learn estimator contract.

:class:`MLPTorchClassifier` trains a fully connected network (configurable widths, BatchNorm,
dropout) with :func:`~featurelab.nn.training.fit_network` -- AdamW, weight decay, label smoothing,
``ReduceLROnPlateau`` and early stopping on a stratified validation split carved out of the
training data given to :meth:`~MLPTorchClassifier.fit` (never out of a test fold). It clones,
pickles and grid-searches like any scikit-learn classifier, so the registry's ``mlp_torch`` model
runs through the same cross-validation, grouping, metrics and run directories as the classical
models.

PyTorch is an optional dependency (the ``[nn]`` extra): this module imports it only inside the
methods that need it, so ``import featurelab.nn.mlp`` works without it and ``fit`` raises a
:class:`~featurelab.exceptions.ParameterError` with the install hint.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Integral, StrOptions, validate_params
from ..exceptions import ParameterError
from ._params import POSITIVE_INT, TRAINING_CONSTRAINTS, layer_widths
from ._torch import import_torch, load_numpy_state, resolve_device, seed_int, torch_scope
from .training import Schedule, early_stopping_split, epoch_batches, fit_network, plateau_patience

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from sklearn.pipeline import Pipeline

__all__ = ["MLPTorchClassifier", "make_mlp_torch", "build_mlp", "MLP_TORCH_PARAMS"]


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
    >>> from featurelab.nn import MLPTorchClassifier
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

    _parameter_constraints: dict[str, list[Any]] = {
        **TRAINING_CONSTRAINTS,
        "hidden": [POSITIVE_INT, "array-like"],
        "batchnorm": ["boolean"],
        "max_epochs": [POSITIVE_INT],
        "class_weight": [Mapping, StrOptions({"balanced"}), None],
        "random_state": [Integral, np.random.RandomState, np.random.Generator, None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> tuple[int, ...]:
        """Validate the parameters (``_parameter_constraints``); return the hidden widths."""
        validate_params(self.get_params(deep=False), self._parameter_constraints, caller=type(self).__name__)
        return layer_widths(self.hidden, "hidden")

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
        index = np.arange(len(y_enc))
        val_idx = early_stopping_split(y_enc, float(self.validation_fraction), seed)
        if val_idx is None:
            return index, None
        return np.setdiff1d(index, val_idx), val_idx

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
        seed = seed_int(self.random_state)
        train_idx, val_idx = self._split(y_enc, seed)

        with torch_scope(seed, self.n_jobs, device) as torch:
            module = build_mlp(
                X.shape[1], n_classes, hidden, dropout=float(self.dropout), batchnorm=self.batchnorm
            ).to(device)
            result = self._train(torch, module, X, y_enc, train_idx, val_idx, weights, device, seed)
        self.state_dict_, self.history_, self.best_epoch_ = result.state, result.history, result.best_epoch
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
    ) -> Any:
        nn = torch.nn
        # Class weights act as sample weights normalized by the training set's mean weight (as in
        # scikit-learn), not per batch, so a batch that happens to hold only light classes does not
        # get full-size gradients.
        class_w = np.ones(int(y_enc.max()) + 1) if weights is None else np.asarray(weights)
        class_w_t = torch.as_tensor(class_w, dtype=torch.float32).to(device)
        mean_w = float(class_w[y_enc[train_idx]].mean()) or 1.0
        criterion = nn.CrossEntropyLoss(reduction="none", label_smoothing=float(self.label_smoothing))
        monitor = nn.CrossEntropyLoss(reduction="none")
        X_all = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
        y_all = torch.from_numpy(y_enc.astype(np.int64)).to(device)
        X_tr, y_tr = X_all[train_idx], y_all[train_idx]
        generator = torch.Generator().manual_seed(seed)
        # BatchNorm needs two samples per batch (n_train >= 2 is guaranteed by ``_split``).
        min_size = 2 if self.batchnorm else 1

        def batches(epoch: int) -> Any:
            for index in epoch_batches(len(train_idx), self.batch_size, generator, min_size=min_size):
                index = index.to(device)
                yield X_tr[index], y_tr[index]

        def loss_fn(logits: Any, target: Any) -> Any:
            return (criterion(logits, target) * class_w_t[target]).sum() / (len(target) * mean_w)

        validate = None
        if val_idx is not None:
            X_va, y_va = X_all[val_idx], y_all[val_idx]

            def validate(module: Any) -> tuple[float, float]:
                module.eval()
                with torch.no_grad():
                    logits = module(X_va)
                    w_va = class_w_t[y_va]
                    loss = float((monitor(logits, y_va) * w_va).sum() / w_va.sum())
                    return loss, float((logits.argmax(1) == y_va).float().mean())

        schedule = Schedule(
            max_epochs=int(self.max_epochs),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            patience=int(self.patience),
            lr_patience=plateau_patience(self.patience, 4),
        )
        return fit_network(
            module,
            batches,
            loss_fn,
            schedule,
            validate=validate,
            on_epoch=self._print_epoch if self.verbose else None,
        )

    @staticmethod
    def _print_epoch(entry: Mapping[str, float]) -> None:
        print(
            f"epoch {entry['epoch']:4d}  loss {entry['train_loss']:.4f}  "
            f"acc {entry['train_accuracy']:.3f}  val_loss {entry['val_loss']:.4f}  "
            f"val_acc {entry['val_accuracy']:.3f}  lr {entry['lr']:.2e}",
            file=sys.stderr,
        )

    # ------------------------------------------------------------------ predict
    def _inference_module(self) -> Any:
        """Rebuild the network from ``state_dict_`` in float64 (batch-size independent outputs)."""
        module = build_mlp(
            self.n_features_in_,
            len(self.classes_),
            self._check_params(),
            dropout=float(self.dropout),
            batchnorm=self.batchnorm,
        )
        return load_numpy_state(module, self.state_dict_).double().eval()

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
            module = self._inference_module()
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
