"""``DeepNetwork``: the lesson's L-layer network as a model that trains on real data.

Inputs are in the lesson's layout: X of shape (n_x, m), one example per column.
Targets are labels of shape (m,) or (1, m), or a matrix (n_y, m); see
:mod:`deepstep.targets`. ``parameters`` is the lesson's dict
``{"W1", "b1", ..., "WL", "bL"}``: hand it to :mod:`deepstep.steps` and back.
"""

from __future__ import annotations

import numpy as np

from . import sources, training
from .engine import Engine, all_finite
from .errors import DataError, InvalidParameterError, NotFittedError
from .hyperparameters import HyperParameters, document_hyperparameters
from .initializers import AUTO_INIT, initialize
from .losses import OUTPUT_LOSS
from .memory import check_fits
from .optimizers import get_optimizer
from .preprocessing import Scaler
from .targets import TargetEncoder


class DeepNetwork:
    """An L-layer fully-connected network: [LINEAR -> ACT] x (L-1) -> LINEAR -> OUTPUT.

    Parameters
    ----------
    hp : HyperParameters, optional
        Defaults to ``HyperParameters()``.
    verbose : int
        Progress while training, on stderr: 0 silent (the default), 1 a progress
        bar, 2 one line per epoch (see :class:`deepstep.callbacks.ProgressBar`).
        Not a hyperparameter: it changes nothing the model learns.
    **overrides
        Fields of :class:`HyperParameters` to change, e.g. ``layers=(20, 7, 5)``:

    <hyperparameters>

    Examples
    --------
    >>> from deepstep import DeepNetwork
    >>> net = DeepNetwork(layers=(16,), epochs=5)      # doctest: +SKIP
    >>> history = net.fit(X, y)                        # X: (n_x, m), y: (m,)
    >>> net.predict(X)                                 # (1, m) labels
    """

    #: Hyperparameters a built model cannot change (its shape, state or scaler depend on them).
    FIXED_AFTER_BUILD = ("layers", "activation", "output", "dtype", "optimizer", "preprocess")

    def __init__(self, hp: HyperParameters | None = None, *, verbose: int = 0, **overrides):
        hp = hp if hp is not None else HyperParameters()
        if not isinstance(hp, HyperParameters):
            raise InvalidParameterError(f"hp must be a HyperParameters instance. Got {type(hp).__name__}.")
        self.hp = hp.replace(**overrides) if overrides else hp
        self.verbose = _check_verbose(verbose)
        self._engine: Engine | None = None
        self._optimizer = None
        self._targets: TargetEncoder | None = None
        self._rng = None
        self._split_rng = None
        self._epochs_done = 0
        self.scaler = Scaler(self.hp.preprocess)
        self.history = training.History()
        self.input_shape = None       # e.g. (64, 64, 3) for image models
        self.feature_names = None     # one name per input feature, when the data had them
        self.class_names = None       # display names of the classes (e.g. from an HDF5 file)
        self.tabular = None           # a TabularEncoder: how a CSV's named columns become X (deepstep.tabular)
        self.train_state = None       # set when a run was interrupted mid-epoch

    # -- structure ------------------------------------------------------------------
    @property
    def is_built(self) -> bool:
        return self._engine is not None

    @property
    def layer_dims(self):
        """[n[0], n[1], ..., n[L]] once built."""
        return None if self._engine is None else list(self._engine.dims)

    @property
    def activations(self):
        return [*self.hp.hidden_activations, self._targets.output] if self._targets else None

    @property
    def classes(self):
        return None if self._targets is None else self._targets.classes

    @property
    def output(self):
        return None if self._targets is None else self._targets.output

    @property
    def engine(self) -> Engine | None:
        """The training engine once built: ``engine.theta`` is every W[l] and b[l] in one flat buffer.

        For code that drives the model (the training loop, the estimators, the
        CLI, gradient checks); None before :meth:`build`.
        """
        return self._engine

    @property
    def optimizer(self):
        """The optimizer and its state over ``engine.theta`` (None before :meth:`build`)."""
        return self._optimizer

    @property
    def targets(self) -> TargetEncoder | None:
        """How labels map to the output layer (:class:`~deepstep.targets.TargetEncoder`), once built."""
        return self._targets

    @property
    def epochs_done(self) -> int:
        """Epochs trained so far, over every ``fit`` call (restored from model files)."""
        return self._epochs_done

    @epochs_done.setter
    def epochs_done(self, value: int):
        self._epochs_done = int(value)

    def rng_states(self) -> dict:
        """The states of the model's random generators: ``{"train": ..., "split": ...}`` (None if unset)."""
        return {key: None if rng is None else rng.bit_generator.state
                for key, rng in (("train", self._rng), ("split", self._split_rng))}

    def set_rng_states(self, states: dict):
        """Restore generator states given by :meth:`rng_states` (keys not given are left as they are)."""
        for key, attr in (("train", "_rng"), ("split", "_split_rng")):
            if states.get(key) is not None and getattr(self, attr) is not None:
                getattr(self, attr).bit_generator.state = states[key]

    def build(self, n_x: int, targets: TargetEncoder):
        """Create the parameters for n_x inputs and the given output encoding."""
        hp = self.hp
        dims = [int(n_x), *hp.layers, targets.n_outputs]
        acts = [*hp.hidden_activations, targets.output]
        n_params = sum(dims[i] * dims[i - 1] + dims[i] for i in range(1, len(dims)))
        # weights, gradient, up to two optimizer slots, the last finite epoch's copy, early stopping's best
        check_fits(6 * n_params * np.dtype(hp.dtype).itemsize,
                   f"A network of layers {dims} ({n_params:,} parameters in {hp.dtype})",
                   InvalidParameterError, "Use smaller --layers.")
        self._targets = targets
        self._engine = Engine(dims, acts, OUTPUT_LOSS[targets.output], hp.dtype)
        init_rng, split_rng, self._rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(hp.seed).spawn(3)
        )
        if self._split_rng is None:      # validation_split() may have drawn it already
            self._split_rng = split_rng
        if hp.init_rng == "mt19937":
            # NumPy's legacy stream, local to this model: RandomState(seed).standard_normal
            # draws what np.random.seed(seed); np.random.randn(...) draws.
            init_rng = np.random.RandomState(hp.seed)
        if hp.init == "auto":
            names = [AUTO_INIT.get(a, "xavier") for a in acts[:-1]]
            names.append(names[-1] if names else "xavier")  # output: by its input's activation
        else:
            names = hp.init
        self._engine.set_parameters(initialize(names, init_rng, dims))
        self._optimizer = get_optimizer(hp.optimizer, hp)
        self._optimizer.init_state(self._engine.theta)
        self._epochs_done = 0
        self.history = training.History()
        self.train_state = None
        return self

    def set_hyperparameters(self, hp: HyperParameters):
        """Change hyperparameters of a built model (warm starts); the architecture must stay."""
        if self.is_built:
            old = self.hp
            changed = [f for f in self.FIXED_AFTER_BUILD if getattr(old, f) != getattr(hp, f)]
            if changed:
                raise InvalidParameterError(
                    f"Cannot change {', '.join(changed)} of a trained model; build a new DeepNetwork."
                )
            self._optimizer.hp = hp
        self.hp = hp

    @property
    def parameters(self) -> dict:
        """The lesson's dict ``{"W1": (n[1], n[0]), "b1": (n[1], 1), ...}`` (live views)."""
        self._require_built()
        return self._engine.get_parameters()

    @parameters.setter
    def parameters(self, params: dict):
        self._require_built()
        self._engine.set_parameters(params)

    @classmethod
    def from_parameters(cls, parameters: dict, hp: HyperParameters | None = None, *,
                        output="sigmoid", classes=None, **overrides):
        """A model around a parameter dict from :mod:`deepstep.steps` (or anywhere).

        The hidden sizes come from the dict; ``output`` names the last layer's
        activation (the lesson's networks end in ``sigmoid``).
        """
        L = len(parameters) // 2
        dims = [np.shape(parameters["W1"])[1]] + [np.shape(parameters[f"W{l}"])[0] for l in range(1, L + 1)]
        overrides.setdefault("layers", tuple(dims[1:-1]))
        overrides.setdefault("preprocess", "none")
        overrides.setdefault("output", output)
        net = cls(hp, **overrides)
        if net.hp.preprocess in ("standardize", "minmax"):
            # Regression: the scaler was left unfitted and predict crashed on its missing statistics.
            raise InvalidParameterError(
                f"from_parameters cannot use preprocess={net.hp.preprocess!r}: the parameters come "
                f"without the training data's statistics. Pass preprocess='none' and scale the inputs "
                f"as they were scaled in training (preprocess='divide255' needs no statistics).")
        if classes is None and output != "linear":
            classes = [0, 1] if output == "sigmoid" else list(range(dims[-1]))
        mode = "labels" if output != "linear" and (output == "softmax" or dims[-1] == 1) else "matrix"
        net.build(dims[0], TargetEncoder(output, mode, classes, dims[-1]))
        net.parameters = parameters
        return net

    # -- training --------------------------------------------------------------------
    def fit(self, X, Y, validation_data=None, *, epochs=None, warm_start=False, callbacks=(),
            stop=None, sample_weight=None, verbose=None):
        """Train on X (n_x, m) and Y; returns the :class:`History`.

        Parameters
        ----------
        X : array of shape (n_x, m), or an out-of-core source of rows (m, n_x)
            An ``h5py.Dataset``, ``zarr.Array``, ``dask.array.Array`` or
            :class:`deepstep.sources.Rows` (e.g. around a memmap) is streamed in
            shuffled blocks; see :mod:`deepstep.sources`.
        Y : labels of shape (m,) or (1, m), or targets of shape (n_y, m)
        validation_data : (X_val, Y_val), optional
            Otherwise ``hp.validation_fraction`` of the examples is held out.
        epochs : int, optional
            Overrides ``hp.epochs`` for this call.
        warm_start : bool
            Continue from the current weights and optimizer state.
        callbacks : sequence of :class:`deepstep.callbacks.Callback`
            E.g. :class:`~deepstep.callbacks.EarlyStopping`,
            :class:`~deepstep.callbacks.ModelCheckpoint`; see :mod:`deepstep.callbacks`.
        stop : callable, optional
            Polled after each mini-batch; returning True ends the run early,
            keeping a resumable ``train_state``.
        verbose : int, optional
            Overrides ``self.verbose`` for this call (0, 1 or 2).
        sample_weight : array of shape (m,), optional
            Non-negative per-example weights, in the cost and its gradient
            (dZ[L] of each example times its weight, each mini-batch normalised
            by its weight sum, the L2 term too, as scikit-learn >= 1.7 does).
            Integer weights train as repeating the examples would in full
            batch. The validation metrics and the running accuracy stay
            unweighted.
        """
        verbose = _check_verbose(self.verbose if verbose is None else verbose)
        callbacks = list(callbacks)
        if verbose:
            from .callbacks import ProgressBar

            callbacks.insert(0, ProgressBar(verbose))
        if sources.is_source(X):      # out-of-core rows, streamed in shuffled blocks
            if sample_weight is not None:
                raise InvalidParameterError("sample_weight needs the data in memory; it is not supported "
                                            "with an out-of-core source.")
            return sources.fit(self, X, Y, validation_data, epochs=epochs, warm_start=warm_start,
                               callbacks=callbacks, stop=stop)
        hp = self.hp
        X = self.check_input(X, fitting=not (warm_start and self.is_built), remember=True)
        Y = np.asarray(Y)
        if np.iscomplexobj(Y) or Y.dtype.kind in "mMV":
            raise DataError(f"Y holds {Y.dtype} values; labels must be real numbers, integers or text.")
        m = X.shape[1]
        if Y.shape[-1] != m:
            hint = (" It looks like X is examples x features: pass X.T (deepstep's model takes (n_x, m))."
                    if X.shape[0] == Y.shape[-1] else
                    " Y looks like a column of shape (m, 1): pass Y.ravel() or Y.T."
                    if Y.ndim == 2 and Y.shape == (m, 1) else "")
            raise DataError(f"X has {m} examples (columns) but Y has {Y.shape[-1]}; they must match.{hint}")
        w = None if sample_weight is None else self._check_sample_weight(sample_weight, m)
        resume = warm_start and self.is_built
        if not resume:
            self.build(X.shape[0], TargetEncoder.infer(Y, hp.output, w))
        if validation_data is None and hp.validation_fraction > 0:
            tr, va = self.validation_split(m, self._split_labels(Y))
            validation_data = (X[:, va], Y[..., va])
            X, Y = X[:, tr], Y[..., tr]
            m = X.shape[1]
            if w is not None:
                w = w[tr]
                if not (w > 0).any():
                    raise DataError("Every training example left after the validation split has weight zero.")
        bs = hp.batch_size
        if not isinstance(bs, str) and bs is not None and bs > m:
            raise InvalidParameterError(
                f"The 'batch_size' parameter ({bs}) is larger than the {m} training examples. "
                f"Use batch_size <= {m}, or 'full' for batch gradient descent."
            )
        if not resume:
            self.scaler = Scaler(hp.preprocess).fit(X, w)
        Xr = self._rows(X)
        Yr = self._targets.encode_rows(Y, hp.dtype)
        val, epochs, state = self.prepare_run(validation_data, epochs, Xr.shape[0], resume)
        if w is not None:
            w = w.astype(hp.dtype)
        state = training.run(self.loop_parts(), Xr, Yr, epochs, val, callbacks, state, stop, sample_weight=w)
        self.train_state = state if state.perm is not None else None
        return self.history

    def loop_parts(self) -> training.LoopParts:
        """The collaborators :func:`deepstep.training.run` trains with (engine, optimizer, rng, ...)."""
        self._require_built()

        def epoch_done(n):
            self._epochs_done = n

        return training.LoopParts(self.hp, self._engine, self._optimizer, self._rng, self._targets.output,
                                  self.history, self._validation_logs, epoch_done, self._epochs_done,
                                  current_hp=lambda: self.hp, model=self,
                                  value_scale=None if self._targets.output != "linear" else self._targets.value_scale)

    def _split_labels(self, Y):
        """The labels a classifier's validation split is stratified by (None: not stratified)."""
        if self._targets is None or self._targets.output == "linear":
            return None
        Y = np.asarray(Y)
        if Y.ndim == 1 or Y.shape[0] == 1:
            return Y.ravel()
        return None                                   # one-hot or multilabel matrices: a plain split

    @staticmethod
    def _check_sample_weight(sample_weight, m):
        try:
            w = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError("sample_weight must be numbers, one per example.") from None
        if w.ndim == 2 and 1 in w.shape:
            w = w.ravel()
        if w.shape != (m,):
            raise DataError(f"sample_weight must have shape ({m},), one weight per example. Got {w.shape}.")
        if not np.isfinite(w).all():
            raise DataError("sample_weight contains NaN or infinite values.")
        if (w < 0).any():
            raise DataError("sample_weight must be non-negative; it has negative values.")
        if not (w > 0).any():
            raise DataError("sample_weight must have at least one positive value; all weights are zero.")
        return w

    def validation_split(self, m, labels=None):
        """(train_indices, validation_indices) that ``fit`` uses for ``validation_fraction``.

        Drawn from the model's split generator without advancing it, so every
        fit and warm start (and a model loaded from a file) holds out the same
        examples of the same m. The scikit-learn estimators use it too.

        ``labels`` (m,), for classification: the split is stratified, each
        class holding out round(fraction x its count) of its examples (the
        total adjusted to round(fraction x m) by largest remainders). A class
        with a single example stays in training, with a warning that names it.
        """
        frac = self.hp.validation_fraction
        n_val = max(1, int(round(frac * m)))
        if n_val >= m:
            raise DataError(f"validation_fraction={frac} leaves no training data out of {m} examples.")
        if self._split_rng is None:
            self._split_rng = np.random.default_rng(np.random.SeedSequence(self.hp.seed).spawn(3)[1])
        bits = type(self._split_rng.bit_generator)()
        bits.state = self._split_rng.bit_generator.state
        idx = np.random.Generator(bits).permutation(m)
        if labels is not None:
            held = self._stratified(idx, np.asarray(labels).ravel(), frac, n_val)
            if held is not None:
                mask = np.zeros(m, bool)
                mask[held] = True
                return np.flatnonzero(~mask), np.flatnonzero(mask)
        return np.sort(idx[n_val:]), np.sort(idx[:n_val])

    @staticmethod
    def _stratified(perm, labels, frac, n_val):
        """Validation indices, per class in the order of ``perm``; None when stratifying is impossible."""
        classes, inverse, counts = np.unique(labels[perm], return_inverse=True, return_counts=True)
        if len(classes) < 2:
            return None
        single = classes[counts < 2]
        if len(single):
            import warnings

            warnings.warn(
                f"Stratified validation split: class(es) {single.tolist()} have a single example, kept in "
                f"training; the other classes are held out in proportion.", UserWarning, stacklevel=4)
        room = np.where(counts < 2, 0, counts - 1)            # every class keeps >= 1 training example
        exact = frac * np.where(counts < 2, 0, counts)
        take = np.minimum(np.floor(exact).astype(int), room)
        short = min(n_val, int(room.sum())) - int(take.sum())
        if short > 0:                                          # largest remainders first
            order = np.argsort(-(exact - take), kind="stable")
            for c in order:
                if short == 0:
                    break
                if take[c] < room[c]:
                    take[c] += 1
                    short -= 1
        held = [perm[inverse == c][:take[c]] for c in range(len(classes))]
        held = np.concatenate(held) if held else np.empty(0, int)
        return held if len(held) else None

    def partial_fit(self, X, Y, **kwargs):
        """One more epoch, keeping weights and optimizer state (builds on first call)."""
        return self.fit(X, Y, epochs=1, warm_start=True, **kwargs)

    def _rows(self, X):
        """Training rows (m, n_x), C-contiguous in the model's dtype, scaled; DataError if they overflow it."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.scaler.is_identity:
                Xr = np.ascontiguousarray(X.T, dtype=self.hp.dtype)
            else:
                Xr = self.scaler.apply_(np.array(X.T, dtype=self.hp.dtype, order="C"), axis=1)
        big = float(np.sqrt(np.finfo(self.hp.dtype).max))
        if Xr.size and not (-big <= float(Xr.min()) and float(Xr.max()) <= big):   # NaN fails too
            raise DataError(
                f"The inputs are too large for {self.hp.dtype} (after preprocess={self.hp.preprocess!r}, "
                f"|x| up to {float(np.abs(X).max()):.3g}; {self.hp.dtype} overflows beyond about {big:.1g} "
                f"in a layer): no learning rate can train on them. Scale them (preprocess='standardize', "
                f"--preprocess standardize) or use dtype='float64' (--dtype float64).")
        return Xr

    # -- prediction -----------------------------------------------------------------
    def predict_proba(self, X):
        """Output activations A[L] of shape (n_y, m): probabilities, or values for regression."""
        self._require_built()
        X = self.check_input(X)
        return self._targets.restore(self._engine.predict(self.scaler.transform(X, self.hp.dtype)))

    def decision_function(self, X):
        """The output layer's pre-activation Z[L] (logits), shape (n_y, m)."""
        self._require_built()
        X = self.check_input(X)
        return self._engine.predict(self.scaler.transform(X, self.hp.dtype), logits=True)

    def predict(self, X):
        """Labels (1, m) for classification (the lesson's ``predict``), values (n_y, m) for regression."""
        AL = self.predict_proba(X)
        return self._targets.decode(AL)

    def evaluate(self, X, Y) -> dict:
        """Accuracy and log-loss (classification) or MSE and R² (regression)."""
        self._require_built()
        X = self.check_input(X)
        Y = np.asarray(Y)
        if Y.shape[-1] != X.shape[1]:
            raise DataError(f"X has {X.shape[1]} examples (columns) but Y has {Y.shape[-1]}.")
        Yc = self._targets.encode_rows(Y, self.hp.dtype).T
        return self._metrics(self._engine.predict(self.scaler.transform(X, self.hp.dtype)), Yc)

    def _metrics(self, AL, Yc, prefix=""):
        out = {}
        if self._targets.output == "linear":
            scale = self._targets.value_scale               # standardized outputs -> the targets' units
            scale = 1.0 if scale is None else scale[:, None]
            D = (AL - Yc).astype(np.float64) * scale
            mse = float(np.mean(D * D))
            var = float(np.mean(np.square((Yc - Yc.mean(axis=1, keepdims=True)) * scale)))
            out["mse"], out["r2"] = mse, (1.0 - mse / var) if var > 0 else float("nan")
        else:
            out["log_loss"] = self._engine.loss.cost(AL, Yc)
            if self._targets.output == "sigmoid":
                out["accuracy"] = float(np.mean((AL > 0.5) == (Yc > 0.5)))
            else:
                out["accuracy"] = float(np.mean(AL.argmax(0) == Yc.argmax(0)))
        return {prefix + k: v for k, v in out.items()}

    def _validation_logs(self, Xv, Yv):
        AL = self._engine.predict(Xv)
        logs = {"val_cost": self._engine.cost(AL, Yv, 0.0)}
        metrics = self._metrics(AL, Yv, prefix="val_")
        metrics.pop("val_log_loss", None)
        logs.update(metrics)
        return logs

    # -- state and files -----------------------------------------------------------
    def get_state(self, train_state=None, run=None, checkpoint=False):
        """The whole model as ``(meta, arrays)``: JSON-able metadata and named NumPy arrays.

        What :meth:`save` writes and :meth:`from_state` reads back (see
        :mod:`deepstep.state`). ``train_state`` (a
        :class:`~deepstep.training.TrainState`) and ``run`` (a JSON-able dict)
        are stored for checkpoints.
        """
        from . import state

        self._require_built()
        return state.to_state(self, train_state=train_state, run=run, checkpoint=checkpoint)

    @classmethod
    def from_state(cls, meta, arrays):
        """``(model, train_state)`` rebuilt from :meth:`get_state`'s output, every field validated.

        Raises ModelFileError when anything is inconsistent (the state may
        come from an untrusted file).
        """
        from . import state

        return state.from_state(cls, meta, arrays)

    def save(self, path) -> str:
        """Write the model to ``path`` (a single ``.npz``, atomically, no pickle); returns the path.

        The file carries architecture, hyperparameters, parameters, optimizer
        state, preprocessing, classes and history: see :mod:`deepstep.modelfile`.
        """
        from . import modelfile

        return modelfile.write(path, *self.get_state())

    @classmethod
    def load(cls, path) -> "DeepNetwork":
        """Read a model written by :meth:`save` (or ``deepstep train --out``).

        ModelFileError, naming the file, is the only error raised.
        """
        from . import modelfile

        return modelfile.read(path, lambda meta, arrays: cls.from_state(meta, arrays)[0])

    # -- export ---------------------------------------------------------------------
    def to_onnx(self, path) -> str:
        """Write the whole predictor (input scaling, layers, output activation) as ONNX; returns the path.

        Input ``X`` of shape (batch, n_x) (examples as rows, dynamic batch);
        outputs ``probabilities`` and ``label`` (classification) or
        ``predictions`` (regression). Needs ``pip install 'deepstep[onnx]'``;
        see :mod:`deepstep.interop.onnx`.
        """
        from .interop.onnx import to_onnx

        return to_onnx(self, path)

    def to_torch(self):
        """An ``nn.Sequential`` with the same outputs as :meth:`predict_proba`, taking rows (batch, n_x).

        Needs ``pip install 'deepstep[torch]'``; see :mod:`deepstep.interop.torch`.
        """
        from .interop.torch import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module, classes=None, **overrides) -> "DeepNetwork":
        """A model from an ``nn.Sequential`` of Linear layers and ReLU/LeakyReLU/Tanh/Sigmoid/Softmax.

        See :func:`deepstep.interop.torch.from_torch`.
        """
        from .interop.torch import from_torch

        return from_torch(module, cls, classes=classes, **overrides)

    # -- reporting ------------------------------------------------------------------
    def summary(self, m: int | str = "m") -> str:
        """The lesson's dimension table: shapes of W, b, Z and A per layer, and parameter counts."""
        self._require_built()
        dims, acts = self.layer_dims, self.activations
        rows = [("layer", "activation", "W", "b", "Z, A", "params")]
        rows.append(("0 (input)", "", "", "", f"({dims[0]}, {m})", "0"))
        total = 0
        for l in range(1, len(dims)):
            n = dims[l] * dims[l - 1] + dims[l]
            total += n
            rows.append((str(l), acts[l - 1], f"({dims[l]}, {dims[l - 1]})", f"({dims[l]}, 1)",
                         f"({dims[l]}, {m})", f"{n:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"L = {len(dims) - 1} layers, {total:,} parameters ({self.hp.dtype})")
        return "\n".join(lines)

    def __repr__(self):
        dims = self.layer_dims or ["n_x", *self.hp.layers, "n_y"]
        return (f"DeepNetwork(dims={dims}, activation={self.hp.activation!r}, "
                f"optimizer={self.hp.optimizer!r}, learning_rate={self.hp.learning_rate:g})")

    # -- pickling ---------------------------------------------------------------------
    def __setstate__(self, state):
        # The engine unpickles into writable memory (even from joblib's read-only memory maps);
        # point the optimizer's state at the new parameter buffer.
        self.__dict__.update(state)
        self.__dict__.setdefault("verbose", 0)        # pickled before verbose existed
        if self._optimizer is not None and self._engine is not None:
            self._optimizer.set_state(self._optimizer.get_state(), self._engine.theta)

    # -- checks -----------------------------------------------------------------------
    def _require_built(self):
        if self._engine is None:
            raise NotFittedError("This DeepNetwork is not trained yet: call fit() or load a model first.")

    def prepare_run(self, validation_data, epochs, m, resume):
        """``(val, epochs, state)`` for a run over ``m`` examples, once the scaler and targets are set.

        The validation data checked, scaled and encoded; ``epochs`` checked (None: the
        hyperparameter); the training position to resume from (None unless ``resume``),
        refused when it stopped mid-epoch over another number of examples. Shared by
        :meth:`fit` and the out-of-core fit (:mod:`deepstep.sources`).
        """
        hp = self.hp
        val = None
        if validation_data is not None:
            Xv, Yv = validation_data
            Xv = self.check_input(Xv)
            val = (self.scaler.transform(Xv, hp.dtype), self._targets.encode_rows(Yv, hp.dtype).T)
        if epochs is None:
            epochs = hp.epochs
        elif isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise InvalidParameterError(f"The 'epochs' argument must be an int in [1, inf). Got {epochs!r} instead.")
        state = self.train_state if resume else None
        if state is not None and state.perm is not None and state.perm.size != m:
            raise DataError(
                f"This model stopped in the middle of an epoch over {state.perm.size} examples and "
                f"can only resume on that data (got {m}). Pass the same data, or set "
                f"model.train_state = None to start a new epoch."
            )
        return val, epochs, state

    def check_input(self, X, fitting=False, remember=False):
        """X as an array of shape (n_x, m), checked: 2-D, real, finite, and of the model's width once built.

        Raises DataError naming the problem (and the fix, e.g. ``X.T`` for
        examples-by-features input). With ``remember`` (``fit``), the finiteness
        pass is skipped for the array object checked last time (see
        :meth:`deepstep.engine.Engine.known_finite`).
        """
        try:
            X = np.asarray(X)
        except Exception as exc:  # ragged nested lists
            raise DataError(f"X could not be read as a 2-D array: {exc}") from None
        if X.ndim != 2:
            raise DataError(f"X must be 2-D with shape (n_x, m), one example per column. Got shape {X.shape}.")
        if X.size == 0:
            raise DataError(f"X is empty (shape {X.shape}); it needs at least one feature and one example.")
        if np.iscomplexobj(X):
            raise DataError("X is complex; deepstep trains on real numbers (split real and imaginary parts).")
        if X.dtype.kind in "mM":
            raise DataError(f"X holds {X.dtype} values (times or durations), not numbers; convert them "
                            f"to numbers first (e.g. X.astype('timedelta64[s]').astype(float)).")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
            raise DataError(f"X must be numeric. Got dtype {X.dtype}; encode text features as numbers first.")
        if not fitting and self._engine is not None:
            n_x = self._engine.dims[0]
            if X.shape[0] != n_x:
                hint = (" It looks like examples x features: pass X.T (deepstep's model takes (n_x, m))."
                        if X.shape[1] == n_x else "")
                raise DataError(f"X has {X.shape[0]} features (rows) but the model expects {n_x}.{hint}")
        if np.issubdtype(X.dtype, np.floating):
            eng = self._engine if remember else None
            if eng is None or not eng.known_finite(X):
                if not all_finite(X):
                    raise DataError("X contains NaN or infinite values; clean or impute them first.")
                if eng is not None:
                    eng.remember_finite(X)
        return X


def _check_verbose(v):
    if isinstance(v, bool):
        return int(v)
    if not isinstance(v, (int, np.integer)) or v not in (0, 1, 2):
        raise InvalidParameterError(f"The 'verbose' argument must be 0, 1 or 2. Got {v!r} instead.")
    return int(v)


DeepNetwork.__doc__ = document_hyperparameters(DeepNetwork.__doc__)
