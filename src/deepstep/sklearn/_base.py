"""What :class:`~deepstep.sklearn.DeepClassifier` and :class:`~deepstep.sklearn.DeepRegressor` share.

``_DeepEstimator`` does the fitting (fresh, warm start, ``partial_fit``), the
sample and class weights (handed to :meth:`DeepNetwork.fit`, which puts them in
the loss), chunked prediction, the fitted attributes and pickling; the two
estimators add their targets and their API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import parallel, sources
from ..callbacks import Callback, ProgressBar
from ..errors import InvalidParameterError
from ..hyperparameters import HyperParameters
from ..network import DeepNetwork
from ..preprocessing import Scaler
from ..targets import TargetEncoder
from . import _frames

_HP = {f.name: f.default for f in dataclasses.fields(HyperParameters)}
HP_FIELDS = tuple(_HP)
# Fields that fix the network's shape or its optimizer's state: a warm start
# cannot change them.
_STRUCTURAL = (*DeepNetwork.FIXED_AFTER_BUILD, "init")   # init: a fresh fit would start elsewhere
_PREDICT_CHUNK = 8192




class _DeepEstimator(BaseEstimator):
    """What the classifier and the regressor share: fitting, warm starts, fitted attributes."""

    _task = None

    # -- hyperparameters --------------------------------------------------------------------
    def _hyperparameters(self) -> HyperParameters:
        values = {name: getattr(self, name) for name in HP_FIELDS}
        try:
            return HyperParameters(**values)
        except InvalidParameterError as exc:
            msg = str(exc).replace(" parameter must", f" parameter of {type(self).__name__} must", 1)
            raise InvalidParameterError(msg) from None

    def _check_estimator_params(self):
        name = type(self).__name__
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'warm_start' parameter of {name} must be a bool. Got {self.warm_start!r} instead.")
        v = self.verbose
        if not isinstance(v, (bool, numbers.Integral)) or v < 0:
            raise InvalidParameterError(
                f"The 'verbose' parameter of {name} must be an int >= 0 or a bool. Got {v!r} instead.")
        t = self.blas_threads
        if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1):
            raise InvalidParameterError(
                f"The 'blas_threads' parameter of {name} must be a positive int or None. Got {t!r} instead.")
        _frames.check_params(self)
        cbs = self.callbacks
        if cbs is not None:
            if isinstance(cbs, Callback):
                cbs = [cbs]
            for cb in cbs:
                if not isinstance(cb, Callback):
                    raise InvalidParameterError(
                        f"The 'callbacks' parameter of {name} must be a list of deepstep.Callback "
                        f"instances. Got {type(cb).__name__}.")

    def _callbacks(self, epochs):
        cbs = self.callbacks
        cbs = [] if cbs is None else ([cbs] if isinstance(cbs, Callback) else list(cbs))
        if self.verbose:                      # 1 (or True): a progress bar; 2 or more: a line per epoch
            cbs.insert(0, ProgressBar(min(int(self.verbose), 2)))
        return cbs

    def _blas_limits(self):
        if self.blas_threads is None:
            return contextlib.nullcontext()
        # deepstep's registry of BLAS limits (process-wide, like threadpool_limits), which
        # also makes blas_threads this thread's intent for the data-parallel step.
        return parallel.blas_limit(int(self.blas_threads))

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on X of shape (n_samples, n_features) and targets y; returns self.

        With ``warm_start=True`` and a fitted estimator, trains ``epochs`` more
        epochs from the current weights and optimizer state.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        if sources.is_source(X):
            return self._fit_source(X, y, sample_weight, incremental, classes)
        hp = self._hyperparameters()
        self._check_estimator_params()
        hp = self._task_hyperparameters(hp)
        fitted = hasattr(self, "network_")
        resume = fitted and (incremental or self.warm_start)
        if y is not None:
            _frames.refuse_unlabeled(self, y)
        table_encoder = None
        if _frames.wanted(self) or (resume and getattr(self.network_, "tabular", None) is not None):
            table_encoder, X, y = self._encode_for_fit(X, y, resume)
        else:
            _frames.refuse_plain_frame(self, X)
            X, y = validate_data(self, X, y, reset=not resume, dtype=(np.float64, np.float32),
                                 order="C", multi_output=True, y_numeric=self._task == "regression")
        Y = self._targets_for_network(y, resume, classes)
        if self._resolved_output != hp.output:
            hp = hp.replace(output=self._resolved_output)     # e.g. sigmoid for multilabel
        w = None
        if sample_weight is not None or getattr(self, "class_weight", None) is not None:
            w = self._weights(X, y, sample_weight)
        epochs = 1 if incremental else hp.epochs
        XT = X.T                                    # (n_x, m): a view of the C-contiguous rows
        with self._blas_limits():
            if resume:
                net = self.network_
                self._check_warm_start(net.hp, hp)
                net.set_hyperparameters(hp)          # momentum, beta2, epsilon may change
                XT, Y, val, w = self._split_rows(XT, Y, w, net)
            elif not incremental:
                net, val = DeepNetwork(hp), None    # the plain path: exactly DeepNetwork.fit
            else:
                # A first partial_fit: build for all the classes and fit the input
                # scaler on the training rows, as DeepNetwork.fit would.
                net = DeepNetwork(hp)
                XT, Y, val, w = self._split_rows(XT, Y, w, net)
                net.build(XT.shape[0], self._encoder(Y, w))
                net.scaler = Scaler(hp.preprocess).fit(XT, w)
            try:
                net.fit(XT, Y, validation_data=val, epochs=epochs, warm_start=net.is_built,
                        callbacks=self._callbacks(epochs), sample_weight=w)
            except BaseException:
                # Consistent after any exception: a warm-started network_ keeps the weights
                # training restored (its last finite epoch), and coefs_, n_iter_ say so.
                if resume:
                    self._set_fitted_attributes()
                raise
            if table_encoder is not None:
                net.tabular = table_encoder          # saved with the model file: plain JSON
                net.feature_names = table_encoder.feature_names
            else:
                names = getattr(self, "feature_names_in_", None)
                net.feature_names = None if names is None else [str(n) for n in names]
            self.network_ = net
        self._set_fitted_attributes()
        return self

    def _encode_for_fit(self, X, y, resume):
        """(encoder, X rows encoded, y): the table encoder fitted on these rows, or the fitted one reused."""
        from sklearn.utils.validation import check_X_y

        if resume:
            enc = self.network_.tabular
            Xe = _frames.transform(enc, _frames.as_table(X, fitting=_frames.is_frame(X), est=self))
        else:
            table = _frames.as_table(X, fitting=True, est=self)
            enc = _frames.fit_encoder(self, table)
            Xe = _frames.transform(enc, table)
            if _frames.is_frame(X):
                self.feature_names_in_ = np.asarray(enc.input_names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.n_features_in_ = len(enc.columns)
        Xe, y = check_X_y(Xe, y, dtype=(np.float64, np.float32), order="C", multi_output=True,
                          y_numeric=self._task == "regression")
        return enc, Xe, y

    def get_feature_names_out(self, input_features=None):
        """The network's input features: a numeric column's name, ``name_category`` per one-hot category.

        Without a table encoding (the default), the input feature names (``feature_names_in_``,
        else ``x0``, ``x1``, ...).
        """
        check_is_fitted(self, "network_")
        enc = getattr(self.network_, "tabular", None)
        if enc is not None:
            return np.asarray(enc.feature_names, dtype=object)
        from sklearn.utils.validation import _check_feature_names_in

        return _check_feature_names_in(self, input_features)

    def _fit_source(self, X, y, sample_weight, incremental, classes):
        """``fit``/``partial_fit`` on out-of-core rows (:mod:`deepstep.sources`): streamed, never loaded."""
        if sample_weight is not None or getattr(self, "class_weight", None) is not None:
            raise ValueError("sample_weight and class_weight need the data in memory; "
                             "they are not supported with an out-of-core source.")
        hp = self._hyperparameters()
        self._check_estimator_params()
        hp = self._task_hyperparameters(hp)
        resume = hasattr(self, "network_") and (incremental or self.warm_start)
        rows = sources.Rows(X)
        if resume and rows.n_features != self.n_features_in_:
            raise ValueError(f"X has {rows.n_features} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        self.n_features_in_ = rows.n_features
        if hasattr(self, "feature_names_in_") and not resume:
            del self.feature_names_in_
        y = np.asarray(y[...] if not isinstance(y, np.ndarray) and hasattr(y, "shape") else y)
        if y.shape[0] != rows.m:
            raise ValueError(f"X has {rows.m} samples but y has {y.shape[0]}.")
        Y = self._targets_for_network(y, resume, classes)
        if self._resolved_output != hp.output:
            hp = hp.replace(output=self._resolved_output)
        epochs = 1 if incremental else hp.epochs
        with self._blas_limits():
            if resume:
                net = self.network_
                self._check_warm_start(net.hp, hp)
                net.set_hyperparameters(hp)
            else:
                net = DeepNetwork(hp)
                if incremental:       # built for all the classes, the scaler over all the rows
                    net.build(rows.n_features, self._encoder(Y))
                    net.scaler = sources.fit_scaler(hp.preprocess, rows)
            net.fit(rows, Y, epochs=epochs, warm_start=net.is_built, callbacks=self._callbacks(epochs))
            net.feature_names = None
            self.network_ = net
        self._set_fitted_attributes()
        return self

    def _check_warm_start(self, old, new):
        for name in _STRUCTURAL:
            if getattr(old, name) != getattr(new, name):
                raise InvalidParameterError(
                    f"{type(self).__name__} cannot continue training after {name!r} changed from "
                    f"{getattr(old, name)!r} to {getattr(new, name)!r}: the network's shape or "
                    f"optimizer state depends on it. Set warm_start=False to train a new network.")

    def _encoder(self, Y, sample_weight=None):
        return TargetEncoder.infer(Y, self._resolved_output, sample_weight)

    def _weights(self, X, y, sample_weight):
        """Per-example weights (n_samples,) from sample_weight times class_weight."""
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        cw = getattr(self, "class_weight", None)
        if cw is not None:
            w = w * compute_sample_weight(cw, y)
        if not np.isfinite(w).all():
            raise ValueError("sample_weight contains NaN or infinite values.")
        if not (w > 0).any():
            raise ValueError("sample_weight must have at least one positive value; all weights are zero.")
        return w

    def _split_rows(self, XT, Y, w, net):
        """(XT, Y, validation_data, w) with the network's own validation split held out.

        :meth:`DeepNetwork.validation_split`, so that a warm start or a
        ``partial_fit`` holds out the same examples as the first fit, and the
        input scaler is fitted on training rows only. Weights stay with their rows.
        """
        if net.hp.validation_fraction <= 0:
            return XT, Y, None, w
        train, va = net.validation_split(XT.shape[1], self._split_labels(Y, net))
        val = (XT[:, va], Y[..., va])
        if w is not None:
            w = w[train]
            if not (w > 0).any():
                raise ValueError("Every training example left after the validation split has weight zero.")
        return np.ascontiguousarray(XT.T[train]).T, Y[..., train], val, w

    def _split_labels(self, Y, net):
        """Labels to stratify the validation split by (classification, one label per example)."""
        if self._task != "classification" or getattr(self, "_multilabel", False):
            return None
        return np.asarray(Y).ravel()

    def _set_fitted_attributes(self):
        net = self.network_
        params = net.parameters
        L = len(params) // 2
        self.coefs_ = [params[f"W{l}"].T.copy() for l in range(1, L + 1)]
        self.intercepts_ = [params[f"b{l}"].ravel().copy() for l in range(1, L + 1)]
        h = net.history
        self.loss_curve_ = [float(c) for c in h.get("cost", [])]
        val = h.get("val_cost")
        self.validation_loss_curve_ = None if val is None else [float(c) for c in val]
        enc = getattr(net, "tabular", None)
        self.encoding_ = None if enc is None else _frames.encoding(enc)
        curve = self.validation_loss_curve_ or self.loss_curve_
        self.best_loss_ = float(min(curve)) if curve else None
        self.n_iter_ = len(self.loss_curve_)
        self.n_layers_ = L + 1
        self.n_outputs_ = net.layer_dims[-1]
        self.out_activation_ = net.output

    @property
    def history_(self):
        """The network's per-epoch :class:`deepstep.History` (cost, accuracy, validation)."""
        check_is_fitted(self, "network_")
        return self.network_.history

    # -- prediction helpers -------------------------------------------------------------------
    def _outputs(self, X, logits=False):
        """A[L] (or Z[L] when ``logits``) as C-contiguous float64 rows (n_samples, n_y).

        ``Engine.predict`` in column chunks of ``_PREDICT_CHUNK``, after scikit-learn's
        own input validation (so the network's checks are not run a second time).
        """
        check_is_fitted(self, "network_")
        net = self.network_
        enc = getattr(net, "tabular", None)
        if enc is not None:                       # columns by name (a DataFrame) or by position (rows)
            X = _frames.transform(enc, _frames.as_table(X, fitting=_frames.is_frame(X), est=self))
        else:
            _frames.refuse_plain_frame(self, X)
            X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), order="C")
        Xs = net.scaler.transform(X.T, net.hp.dtype)             # (n_x, m)
        out = net.engine.predict(Xs, chunk=_PREDICT_CHUNK, logits=logits)
        if not logits:
            out = net.targets.restore(out)                      # regression: the targets' units
        return np.ascontiguousarray(out.T, dtype=np.float64)

    def summary(self) -> str:
        """The network's layer table (shapes of W, b, Z, A and parameter counts)."""
        check_is_fitted(self, "network_")
        return self.network_.summary()

    @classmethod
    def _from_network(cls, net, **params):
        if not isinstance(net, DeepNetwork) or not net.is_built:
            raise InvalidParameterError("from_network needs a trained (or loaded) DeepNetwork.")
        hp_values = {k: v for k, v in net.hp.to_dict().items() if k in HP_FIELDS}
        hp_values["layers"] = tuple(hp_values["layers"])
        if isinstance(hp_values["activation"], list):
            hp_values["activation"] = tuple(hp_values["activation"])
        est = cls(**{**hp_values, **params})
        est.network_ = net
        est.n_features_in_ = net.layer_dims[0]
        names = getattr(net, "feature_names", None)
        enc = getattr(net, "tabular", None)
        if enc is not None:                       # a table encoding (the CLI's, or an estimator's): its columns
            est.n_features_in_ = len(enc.columns)
            names = enc.input_names
        if names is not None and len(names) == est.n_features_in_:
            est.feature_names_in_ = np.asarray(names, dtype=object)
        est._adopt_targets(net)
        est._set_fitted_attributes()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = getattr(self, "impute", "none") != "none"   # imputed when asked
        tags.input_tags.string = getattr(self, "categorical", None) is not None  # one-hot when asked
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.seed is None
        return tags
