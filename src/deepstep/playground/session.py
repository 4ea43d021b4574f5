"""One playground session (one browser tab): its data, its network, its run, what the page shows.

No web code here: :class:`Session` is plain Python on deepstep's engine
(:class:`deepstep.DeepNetwork`), so it is tested without a server. Every
setting is bounded by :data:`LIMITS`; a session remembers its run as a list of
actions (whole epochs, single steps) so :meth:`Session.python_code` can write
the Python that replays it from the same seed.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..activations import get_activation
from ..errors import DataError, InvalidParameterError, TrainingDiverged
from .datasets import CLASSIFICATION, REGRESSION, make_dataset

LIMITS = {
    "n_points": (20, 1000),
    "hidden_layers": (0, 6),
    "units": (1, 8),
    "batch_size": (1, 1000),
    "learning_rate": (1e-5, 10.0),
    "l2": (0.0, 10.0),
    "keep_prob": (0.1, 1.0),
    "noise": (0.0, 0.5),
    "train_fraction": (0.1, 0.9),
    "seed": (0, 2**31 - 1),
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
# the page's name -> deepstep's initializer
INITS = {"he": "he", "xavier": "xavier", "random": "random", "large": "large", "zeros": "zeros"}
INIT_LABELS = {"he": "He: randn·√(2/n[l-1])", "xavier": "Xavier", "random": "random × 0.01",
               "large": "random × 10", "zeros": "zeros"}
OPTIMIZERS = ("gd", "momentum", "adam")
MAX_BATCHES_PER_SECOND = 4000       # mini-batch steps a session may run per second
CHUNK_SECONDS = 0.08                # compute per frame while running
GRID = 48                           # boundary map resolution (GRID x GRID)
UNIT_GRID = 20                      # per-unit map resolution
VIEW = 6.0                          # the map shows [-VIEW, VIEW]^2


@dataclass
class Config:
    dataset: str = "circles"
    problem: str = "classification"
    n_points: int = 300
    noise: float = 0.1
    train_fraction: float = 0.5
    layers: tuple = (4, 4)
    activation: str = "relu"
    init: str = "he"
    optimizer: str = "gd"
    learning_rate: float = 0.03
    batch_size: int = 10
    l2: float = 0.0
    keep_prob: float = 1.0
    seed: int = 1
    csv_text: str | None = None

    @classmethod
    def from_dict(cls, d):
        """A validated config; a bad value raises one clear line naming the field and the fix."""
        if not isinstance(d, dict):
            raise DataError("The settings must be a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InvalidParameterError(f"Unknown setting {unknown[0]!r}. Allowed: {', '.join(sorted(known))}.")
        c = cls(**{k: v for k, v in d.items()})
        c.problem = _choice("problem", c.problem, ("classification", "regression"))
        allowed = (CLASSIFICATION if c.problem == "classification" else REGRESSION) + ("csv",)
        c.dataset = _choice("dataset", c.dataset, allowed)
        c.n_points = _int("n_points", c.n_points)
        c.noise = _num("noise", c.noise)
        c.train_fraction = _num("train_fraction", c.train_fraction)
        if isinstance(c.layers, (str, bytes)) or not isinstance(c.layers, (list, tuple)):
            raise InvalidParameterError("The 'layers' setting must be a list of hidden-layer sizes, e.g. [4, 4].")
        lo, hi = LIMITS["hidden_layers"]
        if not lo <= len(c.layers) <= hi:
            raise InvalidParameterError(f"The playground takes {lo} to {hi} hidden layers; got {len(c.layers)}.")
        c.layers = tuple(_int("units", n) for n in c.layers)
        c.activation = _choice("activation", c.activation, ACTIVATIONS)
        c.init = _choice("init", c.init, tuple(INITS))
        c.optimizer = _choice("optimizer", c.optimizer, OPTIMIZERS)
        c.learning_rate = _num("learning_rate", c.learning_rate)
        c.batch_size = _int("batch_size", c.batch_size)
        c.l2 = _num("l2", c.l2)
        c.keep_prob = _num("keep_prob", c.keep_prob)
        c.seed = _int("seed", c.seed)
        if c.csv_text is not None and not isinstance(c.csv_text, str):
            raise InvalidParameterError("The 'csv_text' setting must be the text of a CSV file.")
        return c

    def to_dict(self):
        d = asdict(self)
        d["layers"] = list(self.layers)
        d.pop("csv_text")
        return d


def _bounds(name):
    return LIMITS[name]


def _num(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InvalidParameterError(f"The {name!r} setting must be a number. Got {v!r}.")
    lo, hi = _bounds(name)
    if not lo <= v <= hi:
        raise InvalidParameterError(f"The {name!r} setting must be in [{lo:g}, {hi:g}]. Got {v!r}.")
    return float(v)


def _int(name, v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidParameterError(f"The {name!r} setting must be a whole number. Got {v!r}.")
    lo, hi = _bounds(name)
    if not lo <= v <= hi:
        raise InvalidParameterError(f"The {name!r} setting must be in [{lo}, {hi}]. Got {v!r}.")
    return v


def _choice(name, v, allowed):
    if v not in allowed:
        raise InvalidParameterError(f"The {name!r} setting must be one of {', '.join(allowed)}. Got {v!r}.")
    return v


def _b64(values01):
    """Values in [0, 1] as base64 bytes 0..255 (row-major)."""
    q = np.clip(np.nan_to_num(values01, nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _grid(n):
    t = np.linspace(-VIEW, VIEW, n)
    gx, gy = np.meshgrid(t, -t)          # row 0 at the top (y = +VIEW)
    return np.stack([gx.ravel(), gy.ravel()])


def _fmt(x):
    return f"{float(x) + 0.0:.4g}"          # + 0.0: no "-0"


class Session:
    """A network training on a 2-D dataset, step by step or continuously."""

    def __init__(self, config: Config | dict | None = None):
        from .. import DeepNetwork
        from ..preprocessing import Scaler
        from ..targets import TargetEncoder

        self.config = config if isinstance(config, Config) else Config.from_dict(config or {})
        c = self.config
        self.X_train, self.y_train, self.X_test, self.y_test = make_dataset(
            c.dataset, c.n_points, c.noise, c.train_fraction, c.seed, c.csv_text, c.problem)
        if c.problem == "classification" and len(np.unique(self.y_train)) < 2:
            raise DataError("The training points hold one class only: use more points or another split.")
        self.m = self.X_train.shape[1]
        self.batch_size = min(c.batch_size, self.m)
        self.output = "sigmoid" if c.problem == "classification" else "linear"
        self.hp_args = dict(layers=c.layers, activation=c.activation, output=self.output, init=INITS[c.init],
                            optimizer=c.optimizer, learning_rate=c.learning_rate, momentum=0.9,
                            batch_size=self.batch_size, l2=c.l2, keep_prob=c.keep_prob, preprocess="none",
                            dtype="float64", seed=c.seed, epochs=1)
        if not c.layers:
            self.hp_args["activation"] = "relu"
        self.net = DeepNetwork(**self.hp_args)
        self.net.build(2, TargetEncoder.infer(self.y_train, self.output))
        self.net.scaler = Scaler("none").fit(self.X_train)
        self.actions = []                 # [["epochs", k] | ["step", 1]], the run so far
        self.batches = 0
        self.status = "ready"
        self.message = ""
        self.unit = (1, 0) if c.layers else (1, 0)
        self._epoch_seconds = None
        self.batches_per_epoch = math.ceil(self.m / self.batch_size)

    # -- the network -------------------------------------------------------------------
    @property
    def L(self):
        return len(self.config.layers) + 1

    @property
    def dims(self):
        return [2, *self.config.layers, 1]

    def activations(self):
        return [self.hp_args["activation"]] * (self.L - 1) + [self.output]

    def parameters(self):
        return {k: np.array(v, dtype=np.float64) for k, v in self.net.parameters.items()}

    # -- training ----------------------------------------------------------------------
    def _record(self, kind, n):
        if kind == "epochs" and self.actions and self.actions[-1][0] == "epochs":
            self.actions[-1][1] += n
        else:
            self.actions.append([kind, n])

    def train_epochs(self, n):
        """Train n whole epochs (or to the end of the current one, first, after steps)."""
        if self.status == "diverged":
            return
        try:
            self.net.fit(self.X_train, self.y_train, epochs=n, warm_start=True)
        except TrainingDiverged as exc:
            self.status, self.message = "diverged", str(exc)
        self._record("epochs", n)
        self.batches = self.net.epochs_done * self.batches_per_epoch

    def train_chunk(self):
        """As many epochs as fit in about CHUNK_SECONDS (and the batches-per-second bound)."""
        cap = max(1, int(MAX_BATCHES_PER_SECOND * CHUNK_SECONDS / self.batches_per_epoch))
        if self._epoch_seconds:
            n = max(1, min(cap, int(CHUNK_SECONDS / self._epoch_seconds)))
        else:
            n = 1
        t = time.perf_counter()
        self.train_epochs(n)
        per = (time.perf_counter() - t) / n
        self._epoch_seconds = per if self._epoch_seconds is None else 0.7 * self._epoch_seconds + 0.3 * per
        # Never faster than the bound, however fast the machine.
        return max(0.0, n * self.batches_per_epoch / MAX_BATCHES_PER_SECOND - (time.perf_counter() - t))

    def step(self, layer=None, unit=None):
        """One forward and one backward pass and an update (one mini-batch); returns the equations."""
        if layer is not None:
            self.set_unit(layer, unit)
        equations = self.equations()
        before = self.parameters()
        if self.status != "diverged":
            try:
                self.net.fit(self.X_train, self.y_train, epochs=1, warm_start=True, stop=lambda: True)
            except TrainingDiverged as exc:
                self.status, self.message = "diverged", str(exc)
        self._record("step", 1)
        self.batches += 1
        after = self.parameters()
        l, j = self.unit
        equations["after"] = {
            "W": [float(v) for v in after[f"W{l}"][j]], "b": float(after[f"b{l}"][j, 0]),
            "moved": [float(v) for v in after[f"W{l}"][j] - before[f"W{l}"][j]],
        }
        c = self.config
        gd_full = c.optimizer == "gd" and self.batch_size == self.m and c.keep_prob == 1.0
        equations["lines"].append(
            f"deepstep's step ({c.optimizer}, batch {self.batch_size} of {self.m}"
            f"{', dropout' if c.keep_prob < 1 else ''}{', L2' if c.l2 > 0 else ''}): "
            f"W[{l}]_{j + 1} = [{', '.join(_fmt(v) for v in after[f'W{l}'][j])}], "
            f"b[{l}]_{j + 1} = {_fmt(after[f'b{l}'][j, 0])}"
            + ("  (the same update)" if gd_full else ""))
        return equations

    def set_unit(self, layer, unit):
        layer, unit = int(layer), int(unit)
        if not 1 <= layer <= self.L or not 0 <= unit < self.dims[layer]:
            raise InvalidParameterError(f"There is no unit {unit + 1} in layer {layer} of this network.")
        self.unit = (layer, unit)

    # -- the lesson's pass, for the page ---------------------------------------------
    def lesson_pass(self, X, Y):
        """Forward and backward over (X, Y) with the lesson's formulas; caches and grads (float64)."""
        p = self.parameters()
        acts = self.activations()
        A, As, Zs = X, [X], [None]
        with np.errstate(all="ignore"):
            for l in range(1, self.L + 1):
                Z = p[f"W{l}"] @ A + p[f"b{l}"]
                A = get_activation(acts[l - 1]).forward(Z)
                Zs.append(Z)
                As.append(A)
            m = X.shape[1]
            grads = {}
            dZ = As[-1] - Y                                        # sigmoid + cross-entropy, linear + squared error
            for l in range(self.L, 0, -1):
                grads[f"dZ{l}"] = dZ
                grads[f"dW{l}"] = dZ @ As[l - 1].T / m + self.config.l2 / m * p[f"W{l}"]
                grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
                dA = p[f"W{l}"].T @ dZ
                grads[f"dA{l - 1}"] = dA
                if l > 1:
                    act = get_activation(acts[l - 2])
                    dZ = act.backward(dA, Zs[l - 1], As[l - 1])
        return p, Zs, As, grads

    def cost(self, X, Y):
        AL = self.lesson_pass_forward(X)
        with np.errstate(all="ignore"):
            if self.output == "sigmoid":
                P = np.clip(AL, 1e-12, 1 - 1e-12)
                return float(-np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)))
            return float(np.mean((AL - Y) ** 2) / 2)

    def lesson_pass_forward(self, X, upto=None):
        p = self.parameters()
        acts = self.activations()
        A, out = X, []
        with np.errstate(all="ignore"):
            for l in range(1, (upto or self.L) + 1):
                A = get_activation(acts[l - 1]).forward(p[f"W{l}"] @ A + p[f"b{l}"])
                out.append(A)
        return out if upto else A

    def equations(self):
        """The lesson's equations for the chosen unit, with the current numbers (first training example)."""
        l, j = self.unit
        X, Y = self.X_train, self.y_train
        p, Zs, As, grads = self.lesson_pass(X, Y)
        act = self.activations()[l - 1]
        w, b = p[f"W{l}"][j], p[f"b{l}"][j, 0]
        a_prev = As[l - 1][:, 0]
        z, a = Zs[l][j, 0], As[l][j, 0]
        lr, m, u = self.config.learning_rate, self.m, f"{j + 1}"
        terms = " + ".join(f"({_fmt(wk)})({_fmt(ak)})" for wk, ak in zip(w, a_prev))
        prev = "X" if l == 1 else f"A[{l - 1}]"
        dW, db = grads[f"dW{l}"][j], grads[f"db{l}"][j, 0]
        newW = w - lr * dW
        lines = [
            f"unit {u} of layer {l} ({act}), example 1 of m = {m}:",
            f"Z[{l}]_{u} = W[{l}]_{u} · {prev}_1 + b[{l}]_{u} = {terms} + ({_fmt(b)}) = {_fmt(z)}",
            f"A[{l}]_{u} = {act}(Z[{l}]_{u}) = {act}({_fmt(z)}) = {_fmt(a)}",
        ]
        if l == self.L:
            lines.append(f"dZ[{l}]_{u} = A[{l}]_{u} − Y_1 = {_fmt(a)} − {_fmt(Y[0, 0])} = "
                         f"{_fmt(grads[f'dZ{l}'][j, 0])}")
        else:
            lines.append(f"dZ[{l}]_{u} = dA[{l}]_{u} * {act}'(Z[{l}]_{u}) = {_fmt(grads[f'dA{l}'][j, 0])} * "
                         f"{act}'({_fmt(z)}) = {_fmt(grads[f'dZ{l}'][j, 0])}")
        reg = f" + λ/m W[{l}]_{u}" if self.config.l2 > 0 else ""
        lines += [
            f"dW[{l}]_{u} = 1/m dZ[{l}]_{u} {prev}ᵀ{reg} = [{', '.join(_fmt(v) for v in dW)}]",
            f"db[{l}]_{u} = 1/m Σ_i dZ[{l}]_{u},i = {_fmt(db)}",
            f"W[{l}]_{u} := W[{l}]_{u} − α dW[{l}]_{u} = [{', '.join(_fmt(v) for v in w)}] − {_fmt(lr)} × "
            f"[{', '.join(_fmt(v) for v in dW)}] = [{', '.join(_fmt(v) for v in newW)}]",
            f"b[{l}]_{u} := b[{l}]_{u} − α db[{l}]_{u} = {_fmt(b)} − {_fmt(lr)} × {_fmt(db)} = {_fmt(b - lr * db)}",
        ]
        return {"layer": l, "unit": j, "z": float(z), "a": float(a), "W": [float(v) for v in w], "b": float(b),
                "dW": [float(v) for v in dW], "db": float(db), "W_gd": [float(v) for v in newW],
                "lines": lines}

    # -- what the page shows -----------------------------------------------------------
    def dims_table(self):
        rows = [{"l": 0, "W": None, "b": None, "Z": None, "A": [2, self.m], "activation": "input X"}]
        for l in range(1, self.L + 1):
            n, n_prev = self.dims[l], self.dims[l - 1]
            rows.append({"l": l, "W": [n, n_prev], "b": [n, 1], "Z": [n, self.m], "A": [n, self.m],
                         "activation": self.activations()[l - 1]})
        return rows

    def grad_norms(self):
        _, _, _, grads = self.lesson_pass(self.X_train, self.y_train)
        return [float(np.linalg.norm(grads[f"dW{l}"])) for l in range(1, self.L + 1)]

    def maps(self):
        """The output over the plane (GRID²) and each hidden unit's output (UNIT_GRID²), in [0, 1]."""
        out = self.lesson_pass_forward(_grid(GRID))
        if self.output == "sigmoid":
            boundary = out[0]
        else:
            boundary = (np.tanh(out[0]) + 1) / 2
        units = []
        if self.L > 1:
            hidden = self.lesson_pass_forward(_grid(UNIT_GRID), upto=self.L - 1)
            for A in hidden:
                layer = []
                for row in A:
                    scale = float(np.nanmax(np.abs(row))) if np.isfinite(row).any() else 0.0
                    layer.append(_b64((row / scale + 1) / 2 if scale > 0 else np.full_like(row, 0.5)))
                units.append(layer)
        return _b64(boundary), units

    def points(self):
        return {"train": np.round(np.vstack([self.X_train, self.y_train]).T, 4).tolist(),
                "test": np.round(np.vstack([self.X_test, self.y_test]).T, 4).tolist()}

    def snapshot(self, full=False):
        boundary, units = self.maps()
        shot = {"type": "state", "epoch": self.net.epochs_done, "batches": self.batches, "status": self.status,
                "message": self.message, "train_cost": _finite(self.cost(self.X_train, self.y_train)),
                "test_cost": _finite(self.cost(self.X_test, self.y_test)), "grad_norms":
                [_finite(g) for g in self.grad_norms()], "boundary": boundary, "units": units,
                "grid": GRID, "unit_grid": UNIT_GRID, "view": VIEW,
                "weights": [np.round(np.nan_to_num(v, posinf=1e6, neginf=-1e6), 4).tolist()
                            for k, v in self.parameters().items() if k.startswith("W")],
                "unit": list(self.unit)}
        if self.output == "sigmoid":
            for name, X, Y in (("train", self.X_train, self.y_train), ("test", self.X_test, self.y_test)):
                shot[f"{name}_accuracy"] = float(np.mean((self.lesson_pass_forward(X) > 0.5) == (Y > 0.5)))
        if full:
            shot.update(full=True, config=self.config.to_dict(), dims=self.dims_table(), points=self.points(),
                        problem=self.config.problem, batch_size=self.batch_size, m=self.m)
        return shot

    # -- export ------------------------------------------------------------------------
    def model_bytes(self):
        """The model as deepstep's .npz model file (DeepNetwork.save), as bytes."""
        with tempfile.TemporaryDirectory(prefix="deepstep-playground-") as tmp:
            path = os.path.join(tmp, "playground.npz")
            self.net.save(path)
            with open(path, "rb") as f:
                return f.read()

    def python_code(self):
        """Python that replays this run from its seed with deepstep.DeepNetwork."""
        c = self.config
        if c.dataset == "csv":
            data = ("# The playground's points came from your CSV file: load them the same way\n"
                    "from deepstep.playground.datasets import make_dataset\n"
                    "csv_text = open(\"points.csv\").read()   # x1, x2, label per row\n"
                    f"X_train, y_train, X_test, y_test = make_dataset(\"csv\", train_fraction={c.train_fraction!r}, "
                    f"seed={c.seed}, csv_text=csv_text, problem={c.problem!r})\n")
        else:
            data = ("from deepstep.playground.datasets import make_dataset\n\n"
                    f"X_train, y_train, X_test, y_test = make_dataset({c.dataset!r}, n_points={c.n_points}, "
                    f"noise={c.noise!r}, train_fraction={c.train_fraction!r}, seed={c.seed}, problem={c.problem!r})\n")
        hp = ",\n    ".join(f"{k}={v!r}" for k, v in self.hp_args.items())
        run = "\n".join(
            f"net.fit(X_train, y_train, epochs={n}, warm_start=True)" if kind == "epochs" else
            "net.fit(X_train, y_train, epochs=1, warm_start=True, stop=lambda: True)   # one step (one mini-batch)"
            for kind, n in self.actions) or "# (no training yet)"
        metric = "accuracy" if self.output == "sigmoid" else "mse"
        return (f'"""A deepstep playground run: {c.dataset}, layers {list(c.layers)}, {c.activation}, '
                f'{c.optimizer}; replays it from seed {c.seed}."""\n'
                "import numpy as np\n\n"
                "from deepstep import DeepNetwork\n"
                f"{data}\n"
                f"net = DeepNetwork(\n    {hp},\n)\n"
                f"{run}\n\n"
                f"print(\"epochs:\", net.epochs_done)\n"
                f"print(\"train {metric}:\", net.evaluate(X_train, y_train)[{metric!r}])\n"
                f"print(\"test {metric}:\", net.evaluate(X_test, y_test)[{metric!r}])\n"
                "net.save(\"playground.npz\")\n")


def _finite(x):
    return float(x) if np.isfinite(x) else None
