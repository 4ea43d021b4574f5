"""A drop-in for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by deepstep's engine.

``from deepstep.sklearn import MLPClassifier, MLPRegressor`` in place of
``from sklearn.neural_network import ...``: the same parameters with the same
meanings and defaults, the same fitted attributes, the same initialization
(Glorot-uniform from ``random_state``, bound sqrt(6 / (fan_in + fan_out)),
sqrt(2 / ...) for 'logistic'), the same losses (L2 term ``alpha / 2`` over the
weight sum), the same solvers ('lbfgs' through SciPy's L-BFGS-B on the flat
parameter buffer; 'sgd' with v = momentum v - lr g and Nesterov's look-ahead;
'adam' with scikit-learn's bias-corrected step size), the same learning-rate
schedules and the same stopping rules (``tol``, ``n_iter_no_change``,
``early_stopping`` on the validation score, ``max_iter``, ``max_fun``). The
acceptance test is scikit-learn's own test file for its MLP, run against
these classes (tests/test_sklearn_mlp_dropin.py).

What differs inside: the passes run in :class:`deepstep.engine.Engine` (one
flat parameter buffer, reused workspaces, the fused output gradient
dZ[L] = A[L] - Y, per-example weights on dZ[L]); ``coefs_`` and
``intercepts_`` are the transposes of the engine's ``W[l]`` and ``b[l]``.

What it adds (keyword arguments with deepstep's names, defaulting to
scikit-learn's behaviour): ``class_weight`` ('balanced' or a dict, for the
classifier); ``keep_prob`` (dropout, stochastic solvers); ``activation='leaky_relu'``
and per-layer activations (a list of names);
the fitted attribute ``learning_rate_`` (the step size the
optimizer ended with); ``network_``, the model as a :class:`deepstep.DeepNetwork`
(``est.network_.save(path)`` writes deepstep's safe model file). See
docs/sklearn.md.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d, compute_sample_weight, gen_batches
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..engine import Engine
from ..errors import InvalidParameterError

_STOCHASTIC_SOLVERS = ("sgd", "adam")
# scikit-learn's activation names -> deepstep's kernels (deepstep.activations)
_HIDDEN = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
           "leaky_relu": "leaky_relu"}          # leaky_relu: a deepstep extra
_OUTPUT = {"identity": "linear", "logistic": "sigmoid", "softmax": "softmax", "exp": "exp"}
# the loss each output pairs with (its link, so the engine fuses dZ[L] = A[L] - Y)
_ENGINE_LOSS = {"identity": "squared_error", "logistic": "binary_crossentropy",
                "softmax": "categorical_crossentropy", "exp": "poisson"}
_CHUNK = 4096          # rows per pass when a full batch is evaluated in pieces (sparse input, lbfgs)


# --- scikit-learn's stochastic optimizers, on one flat buffer -------------------------------------
class _SGD:
    """v = momentum v - lr g;  theta += v  (Nesterov: theta += momentum v - lr g)."""

    def __init__(self, size, dtype, learning_rate_init, lr_schedule, momentum, nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.nesterov, self.power_t = lr_schedule, momentum, nesterov, power_t
        self.velocity = np.zeros(size, dtype)
        self._tmp = np.empty(size, dtype)

    def step(self, theta, grad):
        v, tmp = self.velocity, self._tmp
        v *= self.momentum
        np.multiply(self.learning_rate, grad, out=tmp)
        v -= tmp
        if self.nesterov:
            np.multiply(self.momentum, v, out=tmp)
            tmp -= self.learning_rate * grad
            theta += tmp
        else:
            theta += v

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class _Adam:
    """m, v moments; theta -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)."""

    def __init__(self, size, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = np.zeros(size, dtype)
        self.vs = np.zeros(size, dtype)
        self._tmp = np.empty(size, dtype)

    def step(self, theta, grad):
        self.t += 1
        b1, b2, tmp = self.beta_1, self.beta_2, self._tmp
        self.ms *= b1
        np.multiply(1 - b1, grad, out=tmp)
        self.ms += tmp
        self.vs *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - b2
        self.vs += tmp
        self.learning_rate = self.learning_rate_init * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        np.sqrt(self.vs, out=tmp)
        tmp += self.epsilon
        np.divide(self.ms, tmp, out=tmp)
        tmp *= -self.learning_rate
        theta += tmp

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def _rows(X, idx):
    """Rows ``idx`` (an index array or a slice) of X as a dense C-contiguous (k, n) array."""
    part = X[idx]
    if hasattr(part, "toarray"):
        return np.ascontiguousarray(part.toarray())
    return part


#: Dense training rows up to this size are gathered once per epoch, in the epoch's order.
_EPOCH_GATHER_BYTES = 16 << 20


class _EpochRows:
    """The mini-batches of one epoch: rows of X, of the targets and of the weights, in its order.

    Dense X of at most ``_EPOCH_GATHER_BYTES`` is gathered once per epoch (one
    ``take`` for the whole order; every batch is then a contiguous slice);
    larger or sparse X is gathered batch by batch, so that no second copy of
    the data is held. Either way a batch holds the same rows, in the same
    order, as ``X[order[start:stop]]`` (``take``, which is several times faster
    than fancy indexing on these shapes).

    For a softmax output (one-hot targets) it also carries each row's class,
    for :meth:`softmax_loss_sum`.
    """

    def __init__(self, X, Yr, sw, softmax):
        from scipy.special import xlogy

        self.X, self.Yr, self.sw = X, Yr, sw
        self._xlogy, self._eps = xlogy, np.finfo(Yr.dtype).eps    # Yr has the engine's dtype
        self.labels = Yr.argmax(axis=1) if softmax else None
        self.sparse = hasattr(X, "toarray")
        self.whole = not self.sparse and X.nbytes <= _EPOCH_GATHER_BYTES
        self._order = None
        self._arrays = (X, Yr, sw, self.labels)
        self._cols, self._ones = {}, {}

    def epoch(self, order):
        """This epoch's order of the rows (an index array), or None for storage order."""
        X, Yr, sw, labels = self.X, self.Yr, self.sw, self.labels
        if order is None or not self.whole:
            self._order = order
            self._arrays = (X, Yr, sw, labels)
        else:
            self._order = None                      # take: several times faster than X[order] here
            self._arrays = tuple(None if a is None else a.take(order, axis=0) for a in (X, Yr, sw, labels))

    def batch(self, start, stop):
        """(X rows (k, n), Y rows (k, n_out), weights (k,) or None, classes (k,) or None)."""
        X, Yr, sw, labels = self._arrays
        order = self._order
        if order is None:
            Xb = _rows(X, slice(start, stop)) if self.sparse else X[start:stop]
            return (Xb, Yr[start:stop], None if sw is None else sw[start:stop],
                    None if labels is None else labels[start:stop])
        rows = order[start:stop]
        return (_rows(X, rows) if self.sparse else X.take(rows, axis=0), Yr.take(rows, axis=0),
                None if sw is None else sw.take(rows), None if labels is None else labels.take(rows))

    def softmax_loss_sum(self, AL, labels, w):
        """``_BaseMLP._loss_sum`` for a softmax output with one-hot targets, bit for bit.

        Σ_i w_i (-Σ_c Y_ci log clip(AL_ci)) has one non-zero term per column, the
        true class's, so only that entry is clipped and logged: the same values,
        summed in the same order (adding the other classes' exact zeros changes
        nothing), in a tenth of the work for ten classes.
        """
        k = AL.shape[1]
        cols, ones = self._cols.get(k), self._ones.get(k)
        if cols is None:
            cols = self._cols[k] = np.arange(k)
            ones = self._ones[k] = np.ones(k, AL.dtype)
        eps = self._eps
        P = AL[labels, cols]
        np.maximum(P, eps, out=P)                   # np.clip's values, without its wrapper
        np.minimum(P, 1 - eps, out=P)
        per = np.negative(self._xlogy(ones, P, out=P), out=P)
        return float(per.sum() if w is None else np.dot(per, w))


def _check_partial_fit_first_call(est, classes):
    """True on the first ``partial_fit`` call (and sets ``classes_``); checks ``classes`` later."""
    if getattr(est, "classes_", None) is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is not None:
        labels = unique_labels(classes)
        if getattr(est, "classes_", None) is not None:
            if not np.array_equal(est.classes_, labels):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {est.classes_!r}")
            return False
        est.classes_ = labels
        return True
    return False


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: validation, the solvers, the fitted attributes."""

    # -- parameters ---------------------------------------------------------------------------
    def _validate_params_(self):
        name = type(self).__name__

        def bad(param, what):
            raise InvalidParameterError(
                f"The '{param}' parameter of {name} must be {what}. Got {getattr(self, param)!r} instead.")

        def real(param, low, high=None, low_open=False, high_open=False):
            v = getattr(self, param)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v):
                bad(param, "a float")
            if (v <= low if low_open else v < low) or (
                    high is not None and (v >= high if high_open else v > high)):
                lo, hi = "(" if low_open else "[", ")" if high_open else "]"
                bad(param, f"a float in the range {lo}{low}, {'inf' if high is None else high}{hi}")

        def integer(param, low, allow_inf=False):
            v = getattr(self, param)
            if allow_inf and v == np.inf:
                return
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                bad(param, f"an int in the range [{low}, inf)" + (" or inf" if allow_inf else ""))

        def option(param, choices):
            if not isinstance(getattr(self, param), str) or getattr(self, param) not in choices:
                bad(param, "a str among " + ", ".join(repr(c) for c in sorted(choices)))

        def boolean(param):
            if not isinstance(getattr(self, param), (bool, np.bool_)):
                bad(param, "an instance of 'bool'")

        h = self.hidden_layer_sizes
        sizes = list(h) if hasattr(h, "__iter__") and not isinstance(h, str) else [h]
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
            bad("hidden_layer_sizes", "an int or an array-like of ints")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        acts = self.activation
        if isinstance(acts, (list, tuple)):                # per-layer activations: a deepstep extra
            if len(acts) != len(sizes) or not all(isinstance(a, str) and a in _HIDDEN for a in acts):
                bad("activation", f"one of {sorted(_HIDDEN)} or a list of them, one per hidden layer "
                                  f"({len(sizes)})")
        else:
            option("activation", _HIDDEN)
        option("solver", {"lbfgs", "sgd", "adam"})
        real("alpha", 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            integer("batch_size", 1)
        option("learning_rate", {"constant", "invscaling", "adaptive"})
        real("learning_rate_init", 0, low_open=True)
        real("power_t", 0)
        integer("max_iter", 1)
        boolean("shuffle")
        real("tol", 0)
        v = self.verbose
        if isinstance(v, (bool, np.bool_)) is False and (not isinstance(v, numbers.Integral) or v < 0):
            bad("verbose", "an int in the range [0, inf) or a bool")
        boolean("warm_start")
        real("momentum", 0, 1)
        boolean("nesterovs_momentum")
        boolean("early_stopping")
        real("validation_fraction", 0, 1, high_open=True)
        real("beta_1", 0, 1, high_open=True)
        real("beta_2", 0, 1, high_open=True)
        real("epsilon", 0, low_open=True)
        integer("n_iter_no_change", 1, allow_inf=True)
        integer("max_fun", 1)
        real("keep_prob", 0, 1, low_open=True)
        if self.keep_prob < 1 and self.solver == "lbfgs":
            raise InvalidParameterError(
                f"{name}: dropout (keep_prob={self.keep_prob}) needs a stochastic solver ('sgd' or 'adam'); "
                "L-BFGS needs the same objective at every evaluation.")
        return [int(s) for s in sizes]

    # -- the engine ---------------------------------------------------------------------------
    def _engine(self, dtype):
        """An :class:`Engine` holding ``coefs_`` and ``intercepts_`` (W[l] = coefs_[l].T)."""
        dims = [self.coefs_[0].shape[0], *[c.shape[1] for c in self.coefs_]]
        acts = [_HIDDEN[a] for a in self._hidden_activations(len(dims) - 2)] + [_OUTPUT[self.out_activation_]]
        eng = Engine(dims, acts, _ENGINE_LOSS[self.out_activation_], dtype)
        for l, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            np.copyto(eng.W[l], np.asarray(W).T, casting="unsafe")
            np.copyto(eng.b[l], np.asarray(b).reshape(-1, 1), casting="unsafe")
        return eng

    def _hidden_activations(self, n_hidden):
        a = self.activation
        return list(a) if isinstance(a, (list, tuple)) else [a] * n_hidden

    def _store(self, eng):
        self.coefs_ = [W.T.copy() for W in eng.W]
        self.intercepts_ = [b[:, 0].copy() for b in eng.b]

    def _raw_predict(self, X, eng=None):
        """Output activations (n_samples, n_outputs) for validated X (dense or sparse)."""
        if eng is None:
            dtype = np.result_type(X.dtype, self.coefs_[0].dtype)
            eng = self._engine(dtype)
        n = X.shape[0]
        if not hasattr(X, "toarray"):
            Xd = X if X.dtype == eng.dtype else X.astype(eng.dtype)
            return np.ascontiguousarray(eng.predict(Xd.T).T)
        out = np.empty((n, eng.dims[-1]), eng.dtype)
        for start in range(0, n, _CHUNK):
            rows = _rows(X, slice(start, min(start + _CHUNK, n))).astype(eng.dtype, copy=False)
            out[start:start + rows.shape[0]] = eng.predict(rows.T).T
        return out

    def _forward_pass_fast(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                              dtype=(np.float64, np.float32))
        return self._raw_predict(X)

    # -- losses (scikit-learn's definitions) ----------------------------------------------------
    def _loss_sum(self, AL, Y, w):
        """Σ_i w_i loss_i over the columns of AL, Y (n_outputs, k); w None means ones."""
        out = self.out_activation_
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if out == "identity":
                D = Y - AL
                per = np.einsum("ij,ij->j", D, D) * (0.5 / AL.shape[0])
            elif out == "exp":
                from scipy.special import xlogy

                per = (xlogy(Y, Y / AL) - Y + AL).sum(axis=0)
            else:
                from scipy.special import xlogy

                eps = np.finfo(AL.dtype).eps
                P = np.clip(AL, eps, 1 - eps)
                if out == "softmax":
                    per = -xlogy(Y, P).sum(axis=0)
                else:
                    per = -(xlogy(Y, P) + xlogy(1 - Y, 1 - P)).sum(axis=0)
        return float(per.sum() if w is None else np.dot(per, w))

    def _l2(self, eng):
        return float(sum(np.dot(W.ravel(), W.ravel()) for W in eng.W))

    def _loss_grad(self, eng, X, Yr, sw, rows=None):
        """(loss, grad) over ``rows`` of X (all rows by default), in chunks; grad is ``eng.grad``.

        The weighted mean over the rows plus alpha/2 Σ‖W‖² / Σw; the gradient
        accumulates the engine's weighted backward passes chunk by chunk.
        """
        n = X.shape[0] if rows is None else len(rows)
        S = float(n if sw is None else (sw.sum() if rows is None else sw[rows].sum()))
        dense_whole = rows is None and not hasattr(X, "toarray") and n <= _CHUNK
        if dense_whole:
            chunks = [(X, Yr, sw)]
        else:
            # slices of the rows (views for dense X) when all rows are taken, else gathered chunks
            idx = (lambda s: slice(s, s + _CHUNK)) if rows is None else (lambda s: rows[s:s + _CHUNK])
            chunks = ((_rows(X, idx(s)), Yr[idx(s)], None if sw is None else sw[idx(s)])
                      for s in range(0, n, _CHUNK))
        total = None
        loss = 0.0
        for i, (Xc, Yc, wc) in enumerate(chunks):
            Xc = Xc if Xc.dtype == eng.dtype else Xc.astype(eng.dtype)
            ws = eng.workspace(Xc.shape[0])
            AL = eng.forward(Xc.T, ws)
            loss += self._loss_sum(AL, Yc.T, wc)
            eng.backward(Xc.T, Yc.T, ws, l2=self.alpha if i == 0 else 0.0, weights=wc, weight_sum=S)
            if not dense_whole:
                if total is None:
                    total = eng.grad.copy()
                else:
                    total += eng.grad
        if total is not None:
            eng.grad[...] = total
        loss = loss / S + 0.5 * self.alpha * self._l2(eng) / S
        return loss, eng.grad

    # -- fitting ------------------------------------------------------------------------------
    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self.coefs_, self.intercepts_ = [], []
        hidden = self._hidden_activations(len(layer_units) - 2)
        for l, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            # Glorot: factor 2 for logistic units (the output layer: as the last hidden layer)
            name = hidden[min(l, len(hidden) - 1)] if hidden else self.activation
            factor = 2.0 if name == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False):
        # An estimator is consistent after any exception: what fit changed is put back.
        saved = {k: (list(v) if isinstance(v, list) else copy.deepcopy(v) if k == "_optimizer" else v)
                 for k, v in self.__dict__.items()}
        try:
            return self._fit_inner(X, y, sample_weight, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit_inner(self, X, y, sample_weight, incremental):
        hidden_layer_sizes = self._validate_params_()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sample_weight = self._class_weighted(sample_weight, y, X)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features, *hidden_layer_sizes, self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        elif [c.shape for c in self.coefs_] != list(zip(layer_units[:-1], layer_units[1:])):
            raise ValueError(
                f"{type(self).__name__} cannot continue training: the layers {layer_units} differ from "
                f"the fitted network's {[self.coefs_[0].shape[0], *[c.shape[1] for c in self.coefs_]]}. "
                "Set warm_start=False to train a new network.")
        eng = self._engine(X.dtype)
        Yr = np.ascontiguousarray(y, dtype=X.dtype)
        # dropout masks from their own stream (drawn only with dropout, so that without it the
        # shuffles are scikit-learn's)
        self._dropout_rng = (np.random.default_rng(self._random_state.randint(2**31))
                             if self.keep_prob < 1 else None)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(eng, X, y, Yr, sample_weight, incremental)
        else:
            self._fit_lbfgs(eng, X, Yr, sample_weight)
        if not np.isfinite(eng.theta).all():
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        self._store(eng)
        self.learning_rate_ = (float(self._optimizer.learning_rate)
                               if self.solver in _STOCHASTIC_SOLVERS else None)
        return self

    def _class_weighted(self, sample_weight, y, X):
        return sample_weight

    def _fit_lbfgs(self, eng, X, Yr, sw):
        import scipy.optimize

        def fun(x):
            np.copyto(eng.theta, x, casting="unsafe")
            loss, grad = self._loss_grad(eng, X, Yr, sw)
            return loss, grad.astype(np.float64)

        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            res = scipy.optimize.minimize(
                fun, eng.theta.astype(np.float64), method="L-BFGS-B", jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        self.n_iter_ = min(res.nit, self.max_iter)
        if res.status != 0:
            msg = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={res.status}):\n"
                   f"{res.message}\n")
            if self.n_iter_ >= self.max_iter:
                msg += (f"\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={self.max_iter}).")
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        self.loss_ = float(res.fun)
        np.copyto(eng.theta, res.x, casting="unsafe")

    def _fit_stochastic(self, eng, X, y, Yr, sample_weight, incremental):
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = _SGD(eng.theta.size, eng.dtype, self.learning_rate_init, self.learning_rate,
                                       self.momentum, self.nesterovs_momentum, self.power_t)
            else:
                self._optimizer = _Adam(eng.theta.size, eng.dtype, self.learning_rate_init,
                                        self.beta_1, self.beta_2, self.epsilon)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        n_all = X.shape[0]
        train = np.arange(n_all)
        X_val = y_val = sw_val = None
        if early_stopping:
            # stratified for classifiers (not for multilabel), as scikit-learn splits
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            train, val = train_test_split(train, random_state=self._random_state,
                                          test_size=self.validation_fraction, stratify=stratify)
            if len(val) < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            X_val = X[val]
            y_val = y[val]
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
            sw_val = None if sample_weight is None else sample_weight[val]
        n_samples = len(train)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              stacklevel=4)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        opt = self._optimizer
        sample_idx = np.arange(n_samples, dtype=int)
        identity = not early_stopping                     # train rows are X's rows 0..n-1
        bounds = [(b.start, b.stop) for b in gen_batches(n_samples, batch_size)]
        rows_of = _EpochRows(X, Yr, sample_weight, self.out_activation_ == "softmax")
        rs, keep, alpha, dropout_rng = self._random_state, self.keep_prob, self.alpha, self._dropout_rng
        theta, step = eng.theta, opt.step
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                self.n_iter_ = 0
                for _ in range(self.max_iter):
                    if self.shuffle:
                        # sklearn.utils.shuffle's draws (a Fisher-Yates shuffle of the positions),
                        # done in place without its validation: the same order as scikit-learn's
                        rs.shuffle(sample_idx)
                        rows_of.epoch(sample_idx if identity else train[sample_idx])
                    else:
                        rows_of.epoch(None if identity else train)
                    accumulated_loss = 0.0
                    for start, stop in bounds:
                        Xb, Yb, wb, labels = rows_of.batch(start, stop)
                        k = stop - start
                        S = float(k if wb is None else wb.sum())
                        ws = eng.workspace(k, keep < 1)
                        AL = eng.forward(Xb.T, ws, keep, dropout_rng)
                        loss = (self._loss_sum(AL, Yb.T, wb) if labels is None
                                else rows_of.softmax_loss_sum(AL, labels, wb))
                        eng.backward(Xb.T, Yb.T, ws, l2=alpha, keep_prob=keep, weights=wb, weight_sum=S)
                        accumulated_loss += (loss / S + 0.5 * alpha * self._l2(eng) / S) * k
                        step(theta, eng.grad)
                    self.n_iter_ += 1
                    self.loss_ = accumulated_loss / n_samples
                    self.t_ += n_samples
                    self.loss_curve_.append(self.loss_)
                    if self.verbose:
                        print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                    self._update_no_improvement_count(eng, early_stopping, X_val, y_val, sw_val)
                    opt.iteration_ends(self.t_)
                    if self._no_improvement_count > self.n_iter_no_change:
                        if early_stopping:
                            msg = (f"Validation score did not improve more than tol={self.tol:f} for "
                                   f"{self.n_iter_no_change} consecutive epochs.")
                        else:
                            msg = (f"Training loss did not improve more than tol={self.tol:f} for "
                                   f"{self.n_iter_no_change} consecutive epochs.")
                        if opt.trigger_stopping(msg, self.verbose):
                            break
                        self._no_improvement_count = 0
                    if incremental:
                        break
                    if self.n_iter_ == self.max_iter:
                        warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                                      "the optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if early_stopping:                                 # the best weights, as scikit-learn restores
            for l, (W, b) in enumerate(zip(self._best_coefs, self._best_intercepts)):
                np.copyto(eng.W[l], W.T, casting="unsafe")
                np.copyto(eng.b[l], b.reshape(-1, 1), casting="unsafe")

    def _update_no_improvement_count(self, eng, early_stopping, X_val, y_val, sw_val):
        if early_stopping:
            val_score = self._score_with_engine(eng, X_val, y_val, sw_val)
            self.validation_scores_.append(val_score)
            if self.verbose:
                print(f"Validation score: {self.validation_scores_[-1]:f}")
            last = self.validation_scores_[-1]
            if last < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last > self.best_validation_score_:
                self.best_validation_score_ = last
                self._best_coefs = [W.T.copy() for W in eng.W]
                self._best_intercepts = [b[:, 0].copy() for b in eng.b]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _score_with_engine(self, eng, X, y, sample_weight):
        out = self._raw_predict(X, eng)
        y_pred = self._outputs_to_predictions(out)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return float(self._score_function(y, y_pred, sample_weight=sample_weight))

    # -- the public API shared ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (scikit-learn's ``fit``); returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    @property
    def network_(self):
        """The fitted network as a :class:`deepstep.DeepNetwork` (a copy of the weights).

        ``est.network_.save(path)`` writes deepstep's model file (no pickle);
        ``deepstep predict`` and :func:`deepstep.load` read it. The network's
        inputs are not rescaled (``preprocess='none'``), as here.
        """
        check_is_fitted(self, "coefs_")
        from ..network import DeepNetwork

        if self.out_activation_ == "exp":
            raise InvalidParameterError("DeepNetwork has no Poisson (exp) output; a loss='poisson' "
                                        "MLPRegressor can be pickled but not written as a deepstep model.")
        params = {}
        for l, (W, b) in enumerate(zip(self.coefs_, self.intercepts_), start=1):
            params[f"W{l}"] = np.asarray(W, dtype=np.float64).T
            params[f"b{l}"] = np.asarray(b, dtype=np.float64).reshape(-1, 1)
        output = _OUTPUT[self.out_activation_]
        classes = None
        if is_classifier(self) and self._label_binarizer.y_type_ != "multilabel-indicator":
            classes = [c.item() if hasattr(c, "item") else c for c in self.classes_]
        dtype = "float32" if self.coefs_[0].dtype == np.float32 else "float64"
        net = DeepNetwork.from_parameters(params, output=output, classes=classes, dtype=dtype,
                                          activation=tuple(_HIDDEN[a] for a in self._hidden_activations(
                                              len(self.coefs_) - 1)), preprocess="none",
                                          l2=float(self.alpha), keep_prob=float(self.keep_prob))
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            net.feature_names = [str(n) for n in names]
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by deepstep's engine.

    Parameters, attributes and behaviour are scikit-learn's (see its
    documentation and :mod:`deepstep.sklearn.mlp`); the extras:

    class_weight : dict, 'balanced' or None, default=None
        Weights per class, multiplied into ``sample_weight`` ('balanced':
        n_samples / (n_classes * count(class))). Weights enter the loss and the
        gradient (not by repeating rows).
    keep_prob : float in (0, 1], default=1.0
        Inverted dropout on the hidden layers during training (1: none, as
        scikit-learn); stochastic solvers only.

    ``activation`` also takes 'leaky_relu' (slope 0.01), and a list of names, one per
    hidden layer.

    Extra attributes: ``learning_rate_`` (the optimizer's step size at the end
    of fitting; None for 'lbfgs') and ``network_`` (a :class:`deepstep.DeepNetwork`).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, class_weight=None, keep_prob=1.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.keep_prob = keep_prob

    loss = "log_loss"
    _score_function = staticmethod(accuracy_score)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        self._y_labels = y                    # for class_weight
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _class_weighted(self, sample_weight, y, X):
        labels = self.__dict__.pop("_y_labels", None)
        if self.class_weight is None:
            return sample_weight
        cw = compute_sample_weight(self.class_weight, labels).astype(X.dtype)
        return cw if sample_weight is None else sample_weight * cw

    def _outputs_to_predictions(self, out):
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._label_binarizer.inverse_transform(out)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier: labels (n_samples,) or (n_samples, n_classes)."""
        check_is_fitted(self)
        return self._outputs_to_predictions(self._forward_pass_fast(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One pass over (X, y) with the stochastic solver; ``classes`` on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_log_proba(self, X):
        """The log of :meth:`predict_proba`."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates, (n_samples, n_classes), in the order of ``classes_``."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor`` (``loss`` 'squared_error' or 'poisson'), trained by deepstep's engine.

    Parameters, attributes and behaviour are scikit-learn's; the extras ``keep_prob``,
    'leaky_relu', ``learning_rate_`` and ``network_`` as in :class:`MLPClassifier`.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, keep_prob=1.0):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.keep_prob = keep_prob

    _score_function = staticmethod(r2_score)

    def _validate_params_(self):
        if not isinstance(self.loss, str) or self.loss not in ("squared_error", "poisson"):
            raise InvalidParameterError(f"The 'loss' parameter of MLPRegressor must be a str among "
                                        f"'poisson', 'squared_error'. Got {self.loss!r} instead.")
        return super()._validate_params_()

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (np.asarray(y) < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return X, y

    def _outputs_to_predictions(self, out):
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """Predictions, (n_samples,) or (n_samples, n_outputs), in X's float dtype."""
        check_is_fitted(self)
        return self._outputs_to_predictions(self._forward_pass_fast(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One pass over (X, y) with the stochastic solver."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
