"""scikit-learn estimators around :class:`deepstep.DeepNetwork`.

``DeepClassifier`` and ``DeepRegressor`` take data as scikit-learn users hold
it, X of shape (n_samples, n_features), and hand the model its own layout,
X of shape (n_x, m), by transposing once at the boundary: ``X.T`` of a
C-contiguous array is a view, so no data is copied there.

Why the estimators look like this:

* Every :class:`~deepstep.HyperParameters` field is an ``__init__`` argument
  with the same name and default, stored as given. Validation happens in
  ``fit``, by building the ``HyperParameters`` object, so the estimators, the
  CLI and the model share one set of rules and messages. The test suite
  checks that no field is missing.
* ``seed`` plays the part of scikit-learn's ``random_state``: the same seed
  gives the same network bit for bit (the default, 0, makes every fit
  reproducible).
* ``warm_start`` and ``partial_fit`` continue the same :class:`DeepNetwork`:
  weights, Adam moments / momentum, step count and random streams go on as if
  training had never stopped. Pickling the estimator keeps all of it, and
  :meth:`DeepClassifier.from_network` wraps a network loaded from a deepstep
  model file.
* Sample and class weights. The engine trains on unweighted mean costs, so
  weights are honoured by *proportional repetition*: example i is repeated
  ``round(c * w_i)`` times (cumulative rounding, no randomness), with
  ``c = 1 / min(w > 0)`` so that every example with a positive weight appears
  at least once, capped at 4 x n_samples rows. Integer weights therefore give
  exactly the training set with rows repeated, which is what scikit-learn
  defines a sample weight to mean; zero weights remove rows; equal weights
  change nothing; other real weights are matched up to the rounding of one
  copy. Weights are relative: multiplying all of them by a constant changes
  nothing. With ``validation_fraction > 0`` the validation rows are held out
  before the repetition, so copies of one example never land on both sides.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import numbers
import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .errors import InvalidParameterError
from .hyperparameters import HyperParameters
from .network import DeepNetwork
from .preprocessing import Scaler
from .targets import TargetEncoder
from .training import Callback

__all__ = ["DeepClassifier", "DeepRegressor"]

_HP = {f.name: f.default for f in dataclasses.fields(HyperParameters)}
HP_FIELDS = tuple(_HP)
# Fields that fix the network's shape or its optimizer's state: a warm start
# cannot change them.
_STRUCTURAL = ("layers", "activation", "output", "init", "optimizer", "preprocess", "dtype")
_MAX_REPEAT = 4  # repeated training set at most this many times n_samples
_PREDICT_CHUNK = 8192


class _VerboseLog(Callback):
    """Prints one line per epoch, like scikit-learn's MLP with ``verbose=True``."""

    def __init__(self, total):
        self.total = total

    def on_epoch_end(self, epoch, logs):
        parts = [f"{k} = {v:.6g}" for k, v in logs.items() if k not in ("epoch", "lr")]
        print(f"Epoch {epoch}/{self.total}: " + ", ".join(parts), file=sys.stdout, flush=True)


def repetition_counts(weights, max_rows):
    """How many times to repeat each example so that counts are proportional to ``weights``.

    Cumulative rounding of ``c * w`` with ``c = 1 / min(w > 0)`` (fewer rows when
    that would exceed ``max_rows``): integer weights come back unchanged, every
    positive weight gets at least one copy unless the cap binds, and the counts
    sum to the rounded total. Returns an int array of shape (n_samples,).
    """
    w = np.asarray(weights, dtype=np.float64)
    pos = w[w > 0]
    total = w.sum()
    rows = total / pos.min()
    if rows > max_rows:
        rows = float(max_rows)
    expected = np.cumsum(w) * (rows / total)
    edges = np.floor(expected + 0.5).astype(np.int64)   # ±0.5 margin: exact for integer ratios
    return np.diff(edges, prepend=0)


def _portable_network(net):
    """A shallow copy of ``net`` to pickle: the parameter buffer without its views or workspaces."""
    net = copy.copy(net)
    eng = net._engine = copy.copy(net._engine)
    eng.W = eng.b = eng.dW = eng.db = eng.grad = None
    eng._ws = {}
    return net


def _relink_network(net):
    """After unpickling: make W[l], b[l] views of ``theta`` again, in writable buffers.

    Pickle stores each NumPy view as a separate copy, so an unpickled engine
    would train ``theta`` while its forward pass read stale ``W`` copies.
    Optimizer buffers are rebuilt too (a read-only memory map cannot be trained).
    """
    eng = net._engine
    eng.theta = np.array(eng.theta)
    eng.grad = np.zeros_like(eng.theta)
    eng.W, eng.b = eng._views(eng.theta)
    eng.dW, eng.db = eng._views(eng.grad)
    eng._ws = {}
    opt = net._optimizer
    opt.set_state(opt.get_state(), eng.theta)


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
        if self.verbose:
            cbs.append(_VerboseLog(epochs))
        return cbs

    def _blas_limits(self):
        if self.blas_threads is None:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=int(self.blas_threads), user_api="blas")

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on X of shape (n_samples, n_features) and targets y; returns self.

        With ``warm_start=True`` and a fitted estimator, trains ``epochs`` more
        epochs from the current weights and optimizer state.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        hp = self._hyperparameters()
        self._check_estimator_params()
        hp = self._task_hyperparameters(hp)
        fitted = hasattr(self, "network_")
        resume = fitted and (incremental or self.warm_start)
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
                net.hp = hp
                net._optimizer.hp = hp               # momentum, beta2, epsilon may change
                XT, Y, val = self._weighted_rows(XT, Y, w, hp)
            elif w is None and not incremental:
                net, val = DeepNetwork(hp), None    # the plain path: exactly DeepNetwork.fit
            else:
                # Weighted, or a first partial_fit: build for all the classes and fit the
                # input scaler on the (repeated) training rows, as DeepNetwork.fit would.
                net = DeepNetwork(hp)
                XT, Y, val = self._weighted_rows(XT, Y, w, hp)
                net.build(XT.shape[0], self._encoder(Y))
                net.scaler = Scaler(hp.preprocess).fit(XT)
            net.fit(XT, Y, validation_data=val, epochs=epochs, warm_start=net.is_built,
                    callbacks=self._callbacks(epochs))
            names = getattr(self, "feature_names_in_", None)
            net.feature_names = None if names is None else [str(n) for n in names]
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

    def _encoder(self, Y):
        return TargetEncoder.infer(Y, self._resolved_output)

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

    def _weighted_rows(self, XT, Y, w, hp):
        """(XT, Y, validation_data) with examples repeated in proportion to their weights.

        See the module docstring. With ``validation_fraction > 0`` the validation
        rows are split off first (with the model's split rule) so that copies of
        one example never land on both sides.
        """
        if w is None:
            return XT, Y, None
        m = XT.shape[1]
        val = None
        train = np.arange(m)
        if hp.validation_fraction > 0:
            rng = np.random.default_rng(np.random.SeedSequence(hp.seed).spawn(4)[3])
            idx = rng.permutation(m)
            n_val = max(1, int(round(hp.validation_fraction * m)))
            if n_val >= m:
                raise ValueError(f"validation_fraction={hp.validation_fraction} leaves no training data.")
            va, train = np.sort(idx[:n_val]), np.sort(idx[n_val:])
            val = (XT[:, va], Y[..., va])
            w = w[train]
            if not (w > 0).any():
                raise ValueError("Every training example left after the validation split has weight zero.")
        if len(train) == m and np.all(w == w[0]):
            return XT, Y, None                      # equal weights: nothing to do
        rows = np.repeat(train, repetition_counts(w, _MAX_REPEAT * len(w)))
        return np.ascontiguousarray(XT.T[rows]).T, Y[..., rows], val

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
        """A[L] (or Z[L] when ``logits``) as float64 rows (n_samples, n_y).

        Like ``Engine.predict``, in column chunks of bounded memory, with one
        difference: a one-column chunk is padded to two. BLAS sends a
        one-column product to gemv, whose summation order differs from gemm's,
        so without the pad a sample predicted alone could differ in the last
        float32 bit from the same sample predicted in a batch.
        """
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), order="C")
        net = self.network_
        eng = net._engine
        Xs = net.scaler.transform(X.T, net.hp.dtype)             # (n_x, m)
        m = Xs.shape[1]
        out = np.empty((m, eng.dims[-1]), np.float64)
        for start in range(0, m, _PREDICT_CHUNK):
            stop = min(start + _PREDICT_CHUNK, m)
            Xc = Xs[:, start:stop]
            if stop - start == 1:
                Xc = np.repeat(Xc, 2, axis=1)
            ws = eng.workspace(Xc.shape[1])
            A = eng.forward(Xc, ws)
            out[start:stop] = (ws.Z[-1] if logits else A)[:, :stop - start].T
        return out

    # -- pickling -------------------------------------------------------------------------------
    def __getstate__(self):
        state = super().__getstate__()
        if state.get("network_") is not None:
            state = {**state, "network_": _portable_network(state["network_"])}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.__dict__.get("network_") is not None:
            _relink_network(self.network_)

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
        if names is not None and len(names) == est.n_features_in_:
            est.feature_names_in_ = np.asarray(names, dtype=object)
        est._adopt_targets(net)
        est._set_fitted_attributes()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.seed is None
        return tags


class DeepClassifier(ClassifierMixin, _DeepEstimator):
    """Deep neural network classifier (binary, multiclass, multilabel).

    Parameters
    ----------
    learning_rate, epochs, layers, activation, momentum, batch_size, l2, keep_prob,
    output, init, optimizer, beta2, epsilon, lr_schedule, decay_rate, decay_interval,
    validation_fraction, early_stopping, patience, min_delta, preprocess, shuffle,
    seed, dtype
        The fields of :class:`deepstep.HyperParameters`, with the same defaults
        and meaning (``deepstep.hyperparameters.FIELD_HELP``). ``output`` may be
        'auto' (sigmoid for two classes and for multilabel targets, softmax
        otherwise), 'sigmoid' or 'softmax'.
    class_weight : dict, 'balanced' or None
        Weights per class, multiplied into ``sample_weight``; 'balanced' uses
        n_samples / (n_classes * count(class)). For multilabel targets, a list
        of dicts (one per label) or 'balanced'.
    warm_start : bool
        ``fit`` continues the previous network (weights and optimizer state)
        for ``epochs`` more epochs instead of starting anew.
    verbose : int
        Print one line per epoch when > 0.
    callbacks : list of deepstep.Callback or None
        Called by the training loop (``on_epoch_end`` may stop training).
    blas_threads : int or None
        Cap the BLAS threads used inside ``fit`` (threadpoolctl); None leaves
        them as they are. Searches set 1 so that parallel fits do not
        oversubscribe the cores.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``arange(n_labels)`` for multilabel targets).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (n[i], n[i+1]): the transpose of the seed's ``W[i+1]``.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape (n[i+1],): the seed's ``b[i+1]`` flattened.
    n_iter_ : int
        Epochs trained over the network's life (warm starts add up).
    loss_curve_ : list of float
        Mean training cost per epoch.
    validation_loss_curve_ : list of float or None
        Validation cost per epoch when ``validation_fraction > 0``.
    best_loss_ : float
        Lowest validation cost if there was validation, else lowest training cost.
    network_ : deepstep.DeepNetwork
        The model; save it with ``deepstep.persistence.save(est.network_, path)``.
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn's MLPClassifier.
    """

    _task = "classification"

    def __init__(self, *, learning_rate=_HP["learning_rate"], epochs=_HP["epochs"],
                 layers=_HP["layers"], activation=_HP["activation"], momentum=_HP["momentum"],
                 batch_size=_HP["batch_size"], l2=_HP["l2"], keep_prob=_HP["keep_prob"],
                 output=_HP["output"], init=_HP["init"], init_rng=_HP["init_rng"],
                 optimizer=_HP["optimizer"],
                 beta2=_HP["beta2"], epsilon=_HP["epsilon"], lr_schedule=_HP["lr_schedule"],
                 decay_rate=_HP["decay_rate"], decay_interval=_HP["decay_interval"],
                 validation_fraction=_HP["validation_fraction"],
                 early_stopping=_HP["early_stopping"], patience=_HP["patience"],
                 min_delta=_HP["min_delta"], preprocess=_HP["preprocess"], shuffle=_HP["shuffle"],
                 seed=_HP["seed"], dtype=_HP["dtype"],
                 class_weight=None, warm_start=False, verbose=0, callbacks=None, blas_threads=None):
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.layers = layers
        self.activation = activation
        self.momentum = momentum
        self.batch_size = batch_size
        self.l2 = l2
        self.keep_prob = keep_prob
        self.output = output
        self.init = init
        self.init_rng = init_rng
        self.optimizer = optimizer
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.decay_rate = decay_rate
        self.decay_interval = decay_interval
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.preprocess = preprocess
        self.shuffle = shuffle
        self.seed = seed
        self.dtype = dtype
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks
        self.blas_threads = blas_threads

    # -- targets ------------------------------------------------------------------------------
    def _task_hyperparameters(self, hp):
        if hp.output == "linear":
            raise InvalidParameterError(
                "The 'output' parameter of DeepClassifier must be 'auto', 'sigmoid' or 'softmax'. "
                "Got 'linear' instead; use DeepRegressor for regression.")
        return hp

    def _targets_for_network(self, y, resume, classes):
        """Check y, set classes_, and return Y as the network takes it: labels (m,) or (n_y, m)."""
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y")
        if kind == "multiclass-multioutput":
            raise ValueError("DeepClassifier does not support multiclass-multioutput targets "
                             "(several columns of more than two classes); use multilabel 0/1 "
                             "columns or one column of labels.")
        multilabel = kind == "multilabel-indicator"
        if y.ndim == 2 and not multilabel:
            y = y.ravel() if y.shape[1] == 1 else y
        if resume:
            if multilabel != self._multilabel:
                raise ValueError("The targets changed between multilabel and single-label since "
                                 "the network was trained.")
            if multilabel and y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1]} labels but the network was trained on "
                                 f"{len(self.classes_)}.")
            self._resolved_output = "sigmoid" if multilabel else self.output
            return y.T.astype(np.int8) if multilabel else y
        self._multilabel = multilabel
        if multilabel:
            if self.output == "softmax":
                raise InvalidParameterError(
                    "The 'output' parameter of DeepClassifier must be 'sigmoid' or 'auto' for "
                    "multilabel targets (independent 0/1 columns). Got 'softmax' instead.")
            self.classes_ = np.arange(y.shape[1])
            self._resolved_output = "sigmoid"
            return y.T.astype(np.int8)
        labels = unique_labels(y) if classes is None else unique_labels(np.asarray(classes))
        if classes is not None:
            unseen = np.setdiff1d(np.unique(y), labels)
            if len(unseen):
                raise ValueError(f"y contains labels {unseen.tolist()} that are not in classes "
                                 f"{labels.tolist()}.")
        if len(labels) < 2:
            raise ValueError(f"DeepClassifier needs at least 2 classes to train; the labels "
                             f"contain 1 class: {labels[0]!r}.")
        self.classes_ = labels
        self._resolved_output = self.output
        return y

    def _encoder(self, Y):
        if self._multilabel:
            return TargetEncoder.infer(Y, "sigmoid")
        k = len(self.classes_)
        out = self._resolved_output
        if out == "auto":
            out = "sigmoid" if k == 2 else "softmax"
        if out == "sigmoid" and k > 2:
            raise ValueError(f"A sigmoid output produces 2 classes, but classes has {k}. "
                             "Use output='softmax' (or 'auto').")
        return TargetEncoder(out, "labels", self.classes_, 1 if out == "sigmoid" else k)

    def _adopt_targets(self, net):
        enc = net._targets
        self._multilabel = enc.mode == "matrix"
        self._resolved_output = enc.output
        if self._multilabel:
            self.classes_ = np.arange(enc.n_outputs)
        else:
            self.classes_ = np.asarray(enc.classes)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        super()._fit(X, y, sample_weight, incremental, classes)
        if not self._multilabel:
            net_classes = np.asarray(self.network_.classes)
            if not np.array_equal(net_classes, self.classes_):  # the same sorted unique labels
                raise AssertionError(f"class order mismatch: {net_classes} vs {self.classes_}")
        return self

    # -- API --------------------------------------------------------------------------------
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over this batch, continuing weights and optimizer state.

        ``classes`` (all the labels that will ever be seen) is needed on the
        first call when the first batch does not contain every class.
        """
        first = not hasattr(self, "network_")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes if first else None)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (multilabel: one per label)."""
        A = self._outputs(X)
        if self._resolved_output_of_net() == "sigmoid" and not self._multilabel:
            p = A[:, 0]
            return np.column_stack([1 - p, p])
        return A

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (clipped at the dtype's tiny)."""
        P = self.predict_proba(X)
        return np.log(np.maximum(P, np.finfo(P.dtype).tiny))

    def decision_function(self, X):
        """Output pre-activations Z[L]: log-odds (binary: shape (n_samples,)) or logits."""
        Z = self._outputs(X, logits=True)
        if self._resolved_output_of_net() == "sigmoid" and not self._multilabel:
            return Z[:, 0]
        return Z

    def predict(self, X):
        """Labels of shape (n_samples,), or 0/1 of shape (n_samples, n_labels) for multilabel."""
        A = self._outputs(X)
        if self._multilabel:
            return (A > 0.5).astype(np.int64)
        if self._resolved_output_of_net() == "sigmoid":
            idx = (A[:, 0] > 0.5).astype(np.intp)
        else:
            idx = A.argmax(axis=1)
        return self.classes_[idx]

    def _resolved_output_of_net(self):
        return self.network_.output

    @classmethod
    def from_network(cls, net, **params):
        """A fitted DeepClassifier around a trained or loaded :class:`DeepNetwork`.

        ``partial_fit`` and ``warm_start`` continue it with its optimizer state.
        """
        return cls._from_network(net, **params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DeepRegressor(RegressorMixin, _DeepEstimator):
    """Deep neural network regressor (single or multiple outputs), linear output layer.

    Parameters
    ----------
    learning_rate, epochs, layers, activation, momentum, batch_size, l2, keep_prob,
    output, init, optimizer, beta2, epsilon, lr_schedule, decay_rate, decay_interval,
    validation_fraction, early_stopping, patience, min_delta, preprocess, shuffle,
    seed, dtype
        The fields of :class:`deepstep.HyperParameters` (``output`` must be
        'linear' here). The cost is the seed's squared error 1/(2m) Σ‖a - y‖².
    warm_start, verbose, callbacks, blas_threads
        As in :class:`DeepClassifier`.

    Attributes
    ----------
    coefs_, intercepts_, n_iter_, loss_curve_, validation_loss_curve_, best_loss_,
    network_, n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in :class:`DeepClassifier`.
    """

    _task = "regression"

    def __init__(self, *, learning_rate=_HP["learning_rate"], epochs=_HP["epochs"],
                 layers=_HP["layers"], activation=_HP["activation"], momentum=_HP["momentum"],
                 batch_size=_HP["batch_size"], l2=_HP["l2"], keep_prob=_HP["keep_prob"],
                 output="linear", init=_HP["init"], init_rng=_HP["init_rng"],
                 optimizer=_HP["optimizer"],
                 beta2=_HP["beta2"], epsilon=_HP["epsilon"], lr_schedule=_HP["lr_schedule"],
                 decay_rate=_HP["decay_rate"], decay_interval=_HP["decay_interval"],
                 validation_fraction=_HP["validation_fraction"],
                 early_stopping=_HP["early_stopping"], patience=_HP["patience"],
                 min_delta=_HP["min_delta"], preprocess=_HP["preprocess"], shuffle=_HP["shuffle"],
                 seed=_HP["seed"], dtype=_HP["dtype"],
                 warm_start=False, verbose=0, callbacks=None, blas_threads=None):
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.layers = layers
        self.activation = activation
        self.momentum = momentum
        self.batch_size = batch_size
        self.l2 = l2
        self.keep_prob = keep_prob
        self.output = output
        self.init = init
        self.init_rng = init_rng
        self.optimizer = optimizer
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.decay_rate = decay_rate
        self.decay_interval = decay_interval
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.preprocess = preprocess
        self.shuffle = shuffle
        self.seed = seed
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks
        self.blas_threads = blas_threads

    def _task_hyperparameters(self, hp):
        if hp.output not in ("linear", "auto"):
            raise InvalidParameterError(
                f"The 'output' parameter of DeepRegressor must be 'linear'. Got {hp.output!r} "
                "instead; use DeepClassifier for classification.")
        return hp.replace(output="linear")

    def _targets_for_network(self, y, resume, classes):
        y = np.asarray(y, dtype=np.float64)
        column = y.ndim == 2 and y.shape[1] == 1 and self.n_outputs_ == 1 if resume else False
        if resume and (y.ndim == 2) != (self._y_ndim == 2) and not column:
            raise ValueError("y changed between one and several outputs since the network was trained.")
        if not resume:
            self._y_ndim = y.ndim
        self._resolved_output = "linear"
        return y if y.ndim == 1 else y.T

    def _adopt_targets(self, net):
        self._resolved_output = "linear"
        self._y_ndim = 1 if net.layer_dims[-1] == 1 else 2

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over this batch, continuing weights and optimizer state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions of shape (n_samples,) (or (n_samples, n_outputs) for 2-D targets)."""
        A = self._outputs(X)
        return A[:, 0] if self._y_ndim == 1 else A

    @classmethod
    def from_network(cls, net, **params):
        """A fitted DeepRegressor around a trained or loaded :class:`DeepNetwork`."""
        return cls._from_network(net, **params)
