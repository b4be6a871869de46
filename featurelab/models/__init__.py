"""Models: one registry, nested group-aware evaluation, run directories and saved models.

Public API
----------
- :func:`available_models`, :func:`make_model`, :func:`default_grid`, :func:`register_model`,
  :class:`ModelSpec`, :func:`final_estimator` -- the model registry.
- :func:`load_dataset`, :class:`Dataset` -- a feature table as model inputs (tracks, groups).
- :func:`make_cv`, :func:`iter_outer_splits`, :class:`Protocol` -- evaluation protocols.
- :func:`evaluate`, :class:`EvaluationResult`, :func:`fit_final` -- nested evaluation.
- :func:`gridsearch` -- evaluation + final model + run directory (``featurelab gridsearch``).
- :class:`RunResults`, :func:`read_results`, :class:`RunWriter` -- the run contract: the results
  every run writes and the atomic run-directory writer (see :mod:`featurelab.models.rundir`).
- :func:`save_model`, :func:`load_model`, :class:`SavedModel` -- skops/joblib model files.
- :class:`SignedLogTransformer`, :class:`LabelEncodingClassifier` -- featurelab's estimators.

Heavy modules (xgboost, lightgbm, matplotlib, skops) are imported only when used.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
