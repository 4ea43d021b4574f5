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
* Sample and class weights are in the loss: each example's cost and its
  dZ[L] are multiplied by its weight, and each mini-batch is normalised by
  its weight sum (the L2 term too), as scikit-learn (>= 1.7) does. Integer
  weights therefore equal repeating the rows in full-batch training, zero
  weights remove rows, and weights are relative (multiplying all of them by
  a constant changes nothing). With ``validation_fraction > 0`` the
  validation rows are held out first; validation metrics are unweighted.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from ..errors import InvalidParameterError
from ..hyperparameters import document_hyperparameters
from ..targets import TargetEncoder
from ._base import _HP, _DeepEstimator

__all__ = ["DeepClassifier", "DeepRegressor"]


class DeepClassifier(ClassifierMixin, _DeepEstimator):
    """Deep neural network classifier (binary, multiclass, multilabel).

    Parameters
    ----------
    <hyperparameters>
    class_weight : dict, 'balanced' or None
        Weights per class, multiplied into ``sample_weight``; 'balanced' uses
        n_samples / (n_classes * count(class)). For multilabel targets, a list
        of dicts (one per label) or 'balanced'.
    categorical : None, 'auto' or list of str
        Text in X (a DataFrame's object, string or category columns). None
        (the default): X must be numbers, and a text column is an error naming
        it. ``'auto'``: every text column is one-hot encoded, one 0/1 feature
        per category seen in training (sorted, as scikit-learn's
        ``OneHotEncoder(handle_unknown="ignore")``; a category not seen in
        training becomes all zeros, with one warning). A list: these columns
        (text, or numeric codes such as 1/2/3) are one-hot encoded; any other
        text column is an error.
    impute : {'none', 'median', 'mean'}
        Missing values in X (NaN, None, pandas' NA). 'none' (the default):
        refused, naming the column. 'median' / 'mean': numbers get the
        training rows' median (mean) and text the most frequent category, as
        scikit-learn's ``SimpleImputer``. Fitted on the training rows only
        (the first ``fit`` or ``partial_fit``; warm starts reuse it), stored in
        ``network_.tabular`` and so in the model file. See ``encoding_``.
    warm_start : bool
        ``fit`` continues the previous network (weights and optimizer state)
        for ``epochs`` more epochs instead of starting anew.
    verbose : int
        Progress on stderr while fitting: 0 none, 1 (or True) a progress bar,
        2 one line per epoch (:class:`deepstep.callbacks.ProgressBar`).
    callbacks : list of deepstep.callbacks.Callback or None
        Passed to the network's ``fit``: :class:`~deepstep.callbacks.EarlyStopping`,
        :class:`~deepstep.callbacks.ModelCheckpoint`, ... (see :mod:`deepstep.callbacks`).
    blas_threads : int or None
        Cap the BLAS threads used inside ``fit`` (threadpoolctl); None leaves
        them as they are. Searches set 1 so that parallel fits do not
        oversubscribe the cores.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``arange(n_labels)`` for multilabel targets).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (n[i], n[i+1]): the transpose of the lesson's ``W[i+1]``.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape (n[i+1],): the lesson's ``b[i+1]`` flattened.
    n_iter_ : int
        Epochs trained over the network's life (warm starts add up).
    loss_curve_ : list of float
        Mean training cost per epoch.
    validation_loss_curve_ : list of float or None
        Validation cost per epoch when ``validation_fraction > 0``.
    best_loss_ : float
        Lowest validation cost if there was validation, else lowest training cost.
    network_ : deepstep.DeepNetwork
        The model; save it with ``est.network_.save(path)`` (load with ``DeepNetwork.load``).
    encoding_ : dict or None
        With ``categorical`` or ``impute`` (or a network carrying a table
        encoding): what was decided, per input column ``{"name", "kind":
        "numeric" | "one-hot", "categories", "n_features", "fill"}`` (``fill``:
        what a missing value becomes, None if refused), and the summaries
        ``one_hot`` (column -> number of categories) and ``imputed_with``
        (column -> fill value). None for plain numeric X. ``verbose >= 1``
        prints it as one line on stderr, with the missing values met.
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn's MLPClassifier (with a table encoding: X's columns,
        before one-hot encoding; ``get_feature_names_out()`` names the network's
        inputs after it).
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
                 class_weight=None, categorical=None, impute="none", warm_start=False, verbose=0,
                 callbacks=None, blas_threads=None):
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
        self.categorical = categorical
        self.impute = impute
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

    def _encoder(self, Y, sample_weight=None):          # classes: weights do not change the encoding
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
        enc = net.targets
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
        if not first and classes is not None:
            # Regression: other classes after the first call were silently ignored.
            given = unique_labels(np.asarray(classes))
            if self._multilabel or not np.array_equal(given, self.classes_):
                raise ValueError(f"classes={given.tolist()} differs from the classes of the first "
                                 f"partial_fit call, {self.classes_.tolist()}; the network's outputs are "
                                 f"fixed by them. Pass the same classes (or none after the first call).")
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

    The cost is the lesson's squared error 1/(2m) Σ‖a - y‖².

    Parameters
    ----------
    <hyperparameters>
    categorical, impute, warm_start, verbose, callbacks, blas_threads
        As in :class:`DeepClassifier`.

    Attributes
    ----------
    coefs_, intercepts_, n_iter_, loss_curve_, validation_loss_curve_, best_loss_,
    network_, encoding_, n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
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
                 categorical=None, impute="none", warm_start=False, verbose=0, callbacks=None,
                 blas_threads=None):
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
        self.categorical = categorical
        self.impute = impute
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


DeepClassifier.__doc__ = document_hyperparameters(
    DeepClassifier.__doc__,
    notes={"output": "Here: 'auto' (sigmoid for two classes and for multilabel targets, softmax otherwise), "
                     "'sigmoid' or 'softmax'."})
DeepRegressor.__doc__ = document_hyperparameters(
    DeepRegressor.__doc__, defaults={"output": "linear"}, notes={"output": "Must be 'linear' here."})
