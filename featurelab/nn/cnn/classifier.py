"""A trained CNN as a scikit-learn classifier of log-mel segments (the model ``train-cnn`` saves).

:class:`CNNClassifier` holds the CNN's settings as a plain dictionary and its weights as numpy
arrays, so it is saved by :func:`featurelab.models.save_model` like any classical model (a
``model.skops`` file that loads without pickles or torch objects; ``model.joblib`` only with
trust) and ``featurelab predict`` uses it through the same :class:`~featurelab.models.SavedModel`.
PyTorch is imported only when it predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from ...exceptions import ParameterError
from .._torch import torch_scope
from .config import CNNConfig
from .network import load_module, predict_proba

__all__ = ["CNNClassifier"]


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """A trained CNN that classifies log-mel segments (see :mod:`featurelab.nn.cnn`).

    It is made by :func:`~featurelab.nn.cnn.evaluate_cnn` (one per fold, and the final model of
    ``save_model=True``) with :meth:`from_weights`; it is not refitted by itself.

    Parameters
    ----------
    config : dict or None
        The CNN's settings as flat keys (:meth:`CNNConfig.to_dict`); ``None``: the defaults.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)]
        Class labels, in the order of the probability columns.
    state_dict_ : dict of str to np.ndarray
        The network's weights.

    Examples
    --------
    >>> import numpy as np
    >>> from featurelab.nn.cnn import CNNClassifier, CNNConfig, build_cnn
    >>> config = CNNConfig.from_dict({"segment": 1.0, "n_mels": 32, "channels": [4, 8]})
    >>> state = {k: v.numpy() for k, v in build_cnn(2, config).state_dict().items()}
    >>> clf = CNNClassifier.from_weights(config, ["jazz", "rock"], state)
    >>> clf.predict_proba(np.zeros((3, *config.input_shape), np.float32)).shape
    (3, 2)
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = config

    @classmethod
    def from_weights(
        cls, config: CNNConfig, classes: Sequence[Any] | np.ndarray, state: Mapping[str, np.ndarray]
    ) -> CNNClassifier:
        """Wrap trained weights.

        Parameters
        ----------
        config : CNNConfig
            The settings the network was built and trained with.
        classes : array-like [shape=(n_classes,)]
            Labels of the network's outputs, in order.
        state : mapping of str to np.ndarray
            The network's state dict as numpy arrays.
        """
        model = cls(config=config.to_dict())
        model.classes_ = np.asarray([str(c) for c in classes])
        model.state_dict_ = {str(key): np.asarray(value) for key, value in state.items()}
        return model

    @property
    def settings(self) -> CNNConfig:
        """The settings as a :class:`CNNConfig`."""
        return CNNConfig.from_dict(self.config or {})

    def fit(self, X: Any, y: Any) -> CNNClassifier:
        """Not supported: the CNN is trained on audio by :func:`~featurelab.nn.cnn.evaluate_cnn`."""
        raise NotImplementedError(
            "CNNClassifier is trained on audio by featurelab.nn.cnn.evaluate_cnn (train-cnn), not by fit."
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of log-mel segments (on the CPU).

        Parameters
        ----------
        X : np.ndarray [shape=(n_segments, n_mels, n_frames)]
            Log-mel spectrograms in dB, as :func:`featurelab.arrays.extract_arrays` computes them
            with the model's settings.

        Returns
        -------
        proba : np.ndarray [shape=(n_segments, n_classes)]
            Probabilities in the order of ``classes_``.

        Raises
        ------
        ParameterError
            ``X`` does not have the shape of the model's inputs.
        """
        if not hasattr(self, "state_dict_"):
            raise NotFittedError("This CNNClassifier holds no weights; build it with from_weights.")
        config = self.settings
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3 or X.shape[1:] != config.input_shape:
            raise ParameterError(
                f"X must be log-mel segments of shape (n_segments, {config.input_shape[0]}, "
                f"{config.input_shape[1]}). Got shape {X.shape} instead."
            )
        with torch_scope(0, config.threads):
            module = load_module(self.state_dict_, len(self.classes_), config)
            return predict_proba(module, X, "cpu", config.batch_size, config.logmel.top_db)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels of log-mel segments (see :meth:`predict_proba`)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
