"""What ``deepstep check`` checks: for each of the lesson's functions, its inputs and the known bugs.

A :class:`Spec` holds, for one function of :mod:`deepstep.steps`:

* ``args(d)``: a random case, built from a drawer ``d`` (hypothesis while
  searching, a NumPy generator for the diagnosis cases);
* ``published``: the lesson's own test cases (its inputs, drawn as the lesson
  draws them);
* ``variants``: ``(cause, fn)`` pairs, each ``fn`` the reference with one
  known bug. When a learner's output equals a variant's on every case tried,
  that cause is named in the diagnosis.

The reference is always the function of the same name in :mod:`deepstep.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import steps as S


# --- drawers: the same case builders run on hypothesis data or on a NumPy generator ---------
class RngDraw:
    """Random cases from a NumPy Generator (dims 2..5, so shapes tell layers apart)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def dim(self, lo=1, hi=4):
        return int(self.rng.integers(max(lo, 2), max(hi, 2) + 2))

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def arr(self, *shape, lo=-2.0, hi=2.0):
        return self.rng.uniform(lo, hi, size=shape)

    def prob(self, *shape):
        return self.rng.uniform(0.05, 0.95, size=shape)

    def labels(self, *shape):
        return (self.rng.random(shape) < 0.5).astype(np.float64)

    def seed(self):
        return int(self.rng.integers(0, 1000))

    def number(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    def integer(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))


class HypothesisDraw:
    """Random cases from hypothesis (shrinks to the smallest failing shapes and values)."""

    def __init__(self, data):
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        self.data, self.st, self.hnp = data, st, hnp

    def dim(self, lo=1, hi=4):
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, options):
        return self.data.draw(self.st.sampled_from(options))

    def _floats(self, lo, hi):
        return self.st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)

    def arr(self, *shape, lo=-2.0, hi=2.0):
        return self.data.draw(self.hnp.arrays(np.float64, shape, elements=self._floats(lo, hi)))

    def prob(self, *shape):
        return self.data.draw(self.hnp.arrays(np.float64, shape, elements=self._floats(0.05, 0.95)))

    def labels(self, *shape):
        return self.data.draw(self.hnp.arrays(np.float64, shape, elements=self.st.sampled_from([0.0, 1.0])))

    def seed(self):
        return self.data.draw(self.st.integers(0, 1000))

    def number(self, lo, hi):
        return self.data.draw(self._floats(lo, hi))

    def integer(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))


@dataclass
class Spec:
    name: str
    arg_names: tuple
    outputs: tuple                  # names of the returned values (one name: a single return)
    layout: str                     # the returns as the lesson lays them out
    args: object                    # d -> tuple of arguments
    published: list = field(default_factory=list)     # [(label, () -> args)]
    variants: list = field(default_factory=list)      # [(cause, fn(*args))]
    random: bool = False            # draws from NumPy's global generator
    may_mutate: tuple = ()          # argument indexes the lesson itself changes
    compare_first: int | None = None   # compare only the first k returns (older lesson versions)
    mutation_cause: str = ""
    rtol: float = 1e-6
    atol: float = 1e-9

    @property
    def reference(self):
        return getattr(S, self.name)


# --- building blocks for cases -------------------------------------------------------------
def _dims(d, lo_layers=1, hi_layers=3):
    L = d.dim(lo_layers, hi_layers)
    return [d.dim(1, 5) for _ in range(L)] + [1]


def _params(d, dims):
    p = {}
    for l in range(1, len(dims)):
        p["W" + str(l)] = d.arr(dims[l], dims[l - 1])
        p["b" + str(l)] = d.arr(dims[l], 1)
    return p


def _grads(d, dims):
    return {"d" + k: v for k, v in _params(d, dims).items()}


def _caches(d, dims, m):
    caches = []
    for l in range(1, len(dims)):
        caches.append(((d.arr(dims[l - 1], m), d.arr(dims[l], dims[l - 1]), d.arr(dims[l], 1)),
                       d.arr(dims[l], m)))
    return caches


def _forward_with(parameters, X, hidden, output):
    caches, A = [], X
    L = len(parameters) // 2
    for l in range(1, L):
        A, c = S.linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], hidden)
        caches.append(c)
    AL, c = S.linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], output)
    caches.append(c)
    return AL, caches


def _backward_with(AL, Y, caches, hidden, output, dAL=None):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    if dAL is None:
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = \
        S.linear_activation_backward(dAL, caches[L - 1], output)
    for l in reversed(range(L - 1)):
        dA, dW, db = S.linear_activation_backward(grads["dA" + str(l + 1)], caches[l], hidden)
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = dA, dW, db
    return grads


def _init_with(layer_dims, draw, scale):
    p = {}
    for l in range(1, len(layer_dims)):
        p["W" + str(l)] = draw(layer_dims[l], layer_dims[l - 1]) * scale(layer_dims[l], layer_dims[l - 1])
        p["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return p


def _randn(*s):
    return np.random.randn(*s)


def _rand(*s):
    return np.random.rand(*s)


def _update(parameters, grads, lr, sign=-1.0, layers=None, biases=True, sign_b=None):
    L = len(parameters) // 2
    new = {k: np.array(v, copy=True) for k, v in parameters.items()}
    for l in (layers if layers is not None else range(1, L + 1)):
        new["W" + str(l)] = parameters["W" + str(l)] + sign * lr * grads["dW" + str(l)]
        if biases:
            sb = sign if sign_b is None else sign_b
            new["b" + str(l)] = parameters["b" + str(l)] + sb * lr * grads["db" + str(l)]
    return new


def _sig(Z):
    return 1 / (1 + np.exp(-Z))


# --- the lesson's test cases (its inputs, drawn as the lesson draws them) -------------------
def _lc_linear_forward():
    np.random.seed(1)
    return np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)


def _lc_linear_activation_forward(activation):
    def make():
        np.random.seed(2)
        return np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1), activation
    return make


def _lc_L_model_forward():
    np.random.seed(6)
    X = np.random.randn(5, 4)
    W1, b1 = np.random.randn(4, 5), np.random.randn(4, 1)
    W2, b2 = np.random.randn(3, 4), np.random.randn(3, 1)
    W3, b3 = np.random.randn(1, 3), np.random.randn(1, 1)
    return X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}


def _lc_linear_backward():
    np.random.seed(1)
    dZ, A, W, b = np.random.randn(3, 4), np.random.randn(5, 4), np.random.randn(3, 5), np.random.randn(3, 1)
    return dZ, (A, W, b)


def _lc_linear_activation_backward(activation):
    def make():
        np.random.seed(2)
        dA, A, W, b = np.random.randn(1, 2), np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
        Z = np.random.randn(1, 2)
        return dA, ((A, W, b), Z), activation
    return make


def _lc_L_model_backward():
    np.random.seed(3)
    AL = np.random.randn(1, 2)
    Y = np.array([[1, 0]])
    A1, W1, b1, Z1 = np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(3, 2)
    A2, W2, b2, Z2 = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1), np.random.randn(1, 2)
    return AL, Y, (((A1, W1, b1), Z1), ((A2, W2, b2), Z2))


def _lc_update_parameters():
    np.random.seed(2)
    W1, b1, W2, b2 = np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(1, 3), np.random.randn(1, 1)
    np.random.seed(3)
    dW1, db1, dW2, db2 = np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(1, 3), np.random.randn(1, 1)
    return ({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}, 0.1)


# --- the specs ------------------------------------------------------------------------------
LINEAR_CACHE = "cache = (A, W, b)"
LAYER_CACHE = "cache = (linear_cache, activation_cache) = ((A_prev, W, b), Z)"
SWAPPED = "sigmoid and ReLU swapped (the hidden layers use \"relu\", the output layer \"sigmoid\")"
OFF_BY_ONE = ("an off-by-one layer loop: the layers are numbered 1 .. L (L = len(parameters) // 2), "
              "the hidden ones 1 .. L-1: for l in range(1, L)")


def _specs():
    specs = []
    add = specs.append

    # initialization -------------------------------------------------------------------
    def ip_args(d):
        return (d.dim(1, 5), d.dim(1, 5), d.dim(1, 3))

    def ip_with(draw, scale):
        def f(n_x, n_h, n_y):
            W1 = draw(n_h, n_x) * scale
            b1 = np.zeros((n_h, 1))
            W2 = draw(n_y, n_h) * scale
            return {"W1": W1, "b1": b1, "W2": W2, "b2": np.zeros((n_y, 1))}
        return f

    add(Spec("initialize_parameters", ("n_x", "n_h", "n_y"), ("parameters",),
             "parameters = {'W1': (n_h, n_x), 'b1': (n_h, 1), 'W2': (n_y, n_h), 'b2': (n_y, 1)}",
             ip_args, [("the lesson's test case", lambda: (3, 2, 1))],
             [("weights not scaled by 0.01: W = np.random.randn(...) * 0.01", ip_with(_randn, 1.0)),
              ("np.random.rand (uniform on [0, 1)) instead of np.random.randn (normal)", ip_with(_rand, 0.01))],
             random=True))

    def ipd_args(d):
        return ([d.dim(1, 5) for _ in range(d.dim(2, 4))],)

    add(Spec("initialize_parameters_deep", ("layer_dims",), ("parameters",),
             "parameters = {'W1': (n[1], n[0]), 'b1': (n[1], 1), ..., 'WL': (n[L], n[L-1]), 'bL': (n[L], 1)}",
             ipd_args, [("the lesson's test case", lambda: ([5, 4, 3],))],
             [("weights not scaled by 0.01: W[l] = np.random.randn(n[l], n[l-1]) * 0.01",
               lambda dims: _init_with(dims, _randn, lambda o, i: 1.0)),
              ("weights scaled by 1 / sqrt(n[l-1]) (the application's L_layer_model); the lesson's "
               "initialize_parameters_deep uses * 0.01",
               lambda dims: _init_with(dims, _randn, lambda o, i: 1 / np.sqrt(i))),
              ("np.random.rand (uniform on [0, 1)) instead of np.random.randn (normal)",
               lambda dims: _init_with(dims, _rand, lambda o, i: 0.01))],
             random=True))

    # forward ----------------------------------------------------------------------------
    def lf_args(d):
        n_prev, n, m = d.dim(1, 4), d.dim(1, 4), d.dim(1, 5)
        return d.arr(n_prev, m), d.arr(n, n_prev), d.arr(n, 1)

    add(Spec("linear_forward", ("A", "W", "b"), ("Z", "cache"), "(Z, cache) with " + LINEAR_CACHE,
             lf_args, [("the lesson's test case", _lc_linear_forward)],
             [("the bias b is not added: Z = np.dot(W, A) + b", lambda A, W, b: (W @ A, (A, W, b))),
              ("the cache in another order: the lesson's cache is (A, W, b)", lambda A, W, b: (W @ A + b, (W, A, b))),
              ("the cache in another order: the lesson's cache is (A, W, b)", lambda A, W, b: (W @ A + b, (A, b, W)))]))

    def z_args(d):
        return (d.arr(d.dim(1, 4), d.dim(1, 5), lo=-5, hi=5),)

    add(Spec("sigmoid", ("Z",), ("A", "cache"), "(A, cache) with cache = Z", z_args, [],
             [("exp(Z) instead of exp(-Z): A = 1 / (1 + np.exp(-Z))", lambda Z: (1 / (1 + np.exp(Z)), Z)),
              ("the cache must be Z (the input), not A", lambda Z: (_sig(Z), _sig(Z))),
              ("computes ReLU, not sigmoid", lambda Z: (np.maximum(0, Z), Z))]))

    add(Spec("relu", ("Z",), ("A", "cache"), "(A, cache) with cache = Z", z_args, [],
             [("np.minimum instead of np.maximum: A = np.maximum(0, Z)", lambda Z: (np.minimum(0, Z), Z)),
              ("the cache must be Z (the input), not A", lambda Z: (np.maximum(0, Z), np.maximum(0, Z))),
              ("computes sigmoid, not ReLU", lambda Z: (_sig(Z), Z))]))

    def laf_args(d):
        A, W, b = lf_args(d)
        return A, W, b, d.choice(["sigmoid", "relu"])

    def laf_swapped(A, W, b, activation):
        return S.linear_activation_forward(A, W, b, "relu" if activation == "sigmoid" else "sigmoid")

    def laf_flat(A, W, b, activation):
        Al, ((A_, W_, b_), Z) = S.linear_activation_forward(A, W, b, activation)
        return Al, (A_, W_, b_, Z)

    def laf_reversed(A, W, b, activation):
        Al, (lin, Z) = S.linear_activation_forward(A, W, b, activation)
        return Al, (Z, lin)

    add(Spec("linear_activation_forward", ("A_prev", "W", "b", "activation"), ("A", "cache"),
             "(A, cache) with " + LAYER_CACHE, laf_args,
             [("the lesson's test case (sigmoid)", _lc_linear_activation_forward("sigmoid")),
              ("the lesson's test case (relu)", _lc_linear_activation_forward("relu"))],
             [("sigmoid and ReLU swapped: activation == \"sigmoid\" must apply sigmoid", laf_swapped),
              ("the cache in another layout: the lesson's " + LAYER_CACHE, laf_flat),
              ("the cache in another layout: the lesson's " + LAYER_CACHE, laf_reversed)]))

    def lmf_args(d):
        dims = _dims(d, 1, 3)
        return d.arr(dims[0], d.dim(1, 5)), _params(d, dims)

    def lmf_flat(X, p):
        AL, caches = S.L_model_forward(X, p)
        return AL, [(a, w, b, z) for (a, w, b), z in caches]

    def lmf_no_last(X, p):
        AL, caches = S.L_model_forward(X, p)
        return AL, caches[:-1]

    add(Spec("L_model_forward", ("X", "parameters"), ("AL", "caches"),
             "(AL, caches): caches a list of the L layer caches, caches[l-1] = ((A[l-1], W[l], b[l]), Z[l])",
             lmf_args, [("the lesson's test case", _lc_L_model_forward)],
             [(SWAPPED, lambda X, p: _forward_with(p, X, "sigmoid", "relu")),
              ("the output layer uses ReLU; it must be [LINEAR -> SIGMOID]",
               lambda X, p: _forward_with(p, X, "relu", "relu")),
              ("the hidden layers use sigmoid; they must be [LINEAR -> RELU]",
               lambda X, p: _forward_with(p, X, "sigmoid", "sigmoid")),
              ("the output layer's cache is not appended to caches", lmf_no_last),
              ("caches in another layout: each must be ((A_prev, W, b), Z), as linear_activation_forward returns",
               lmf_flat)]))

    def cc_args(d):
        m = d.dim(1, 6)
        return d.prob(1, m), d.labels(1, m)

    def cc(AL, Y):
        m = Y.shape[1]
        return -1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))

    add(Spec("compute_cost", ("AL", "Y"), ("cost",), "cost, a number (np.squeeze makes [[17]] into 17)",
             cc_args, [("the lesson's test case", lambda: (np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]])))],
             [("the cost's sign: J = -1/m Σ (y log a + (1 - y) log(1 - a))", lambda AL, Y: -cc(AL, Y)),
              ("a missing 1/m: the cost is the mean over the m examples", lambda AL, Y: cc(AL, Y) * Y.shape[1]),
              ("the (1 - Y) log(1 - AL) term is missing",
               lambda AL, Y: -1 / Y.shape[1] * np.sum(Y * np.log(AL))),
              ("log(AL) and log(1 - AL) swapped",
               lambda AL, Y: -1 / Y.shape[1] * np.sum(Y * np.log(1 - AL) + (1 - Y) * np.log(AL)))]))

    # backward ---------------------------------------------------------------------------
    def rb_args(d):
        n, m = d.dim(1, 4), d.dim(1, 5)
        return d.arr(n, m), d.arr(n, m)

    add(Spec("relu_backward", ("dA", "cache"), ("dZ",), "dZ, the shape of Z", rb_args, [],
             [("the ReLU mask inverted: dZ = dA where Z > 0, and 0 where Z <= 0",
               lambda dA, Z: np.where(Z <= 0, dA, 0.0)),
              ("at Z = 0 dZ must be 0 too: the lesson sets dZ[Z <= 0] = 0 (not Z < 0)",
               lambda dA, Z: np.where(Z >= 0, dA, 0.0)),
              ("returns the derivative g'(Z) alone; dZ = dA * g'(Z)", lambda dA, Z: (Z > 0).astype(float)),
              ("the mask is taken from dA, not from Z (cache): dZ[Z <= 0] = 0",
               lambda dA, Z: np.where(dA > 0, dA, 0.0))],
             mutation_cause="dZ = dA and then dZ[Z <= 0] = 0 writes into dA: copy first, "
                            "dZ = np.array(dA, copy=True)"))

    def sb(dA, Z, f):
        return f(dA, Z)

    add(Spec("sigmoid_backward", ("dA", "cache"), ("dZ",), "dZ, the shape of Z", rb_args, [],
             [("returns s (1 - s) alone; dZ = dA * s * (1 - s)", lambda dA, Z: _sig(Z) * (1 - _sig(Z))),
              ("the (1 - s) factor is missing: dZ = dA * s * (1 - s)", lambda dA, Z: dA * _sig(Z)),
              ("uses Z where s = sigmoid(Z) is meant: s = 1 / (1 + np.exp(-Z)), dZ = dA * s * (1 - s)",
               lambda dA, Z: dA * Z * (1 - Z))],
             mutation_cause="changes dA in place (dA *= ...): compute dZ = dA * s * (1 - s) as a new array"))

    def lb_args(d):
        n_prev, n, m = d.dim(1, 4), d.dim(1, 4), d.dim(2, 5)
        return d.arr(n, m), (d.arr(n_prev, m), d.arr(n, n_prev), d.arr(n, 1))

    def lb(dZ, cache, kw=1.0, kb=1.0, ka=1.0):
        A, W, b = cache
        m = A.shape[1]
        return (ka * (W.T @ dZ), kw / m * dZ @ A.T, kb / m * np.sum(dZ, axis=1, keepdims=True))

    add(Spec("linear_backward", ("dZ", "cache"), ("dA_prev", "dW", "db"), "(dA_prev, dW, db)",
             lb_args, [("the lesson's test case", _lc_linear_backward)],
             [("a missing 1/m in dW and db: dW = 1/m np.dot(dZ, A_prev.T), db = 1/m np.sum(dZ, axis=1, keepdims=True)",
               lambda dZ, c: lb(dZ, c, kw=c[0].shape[1], kb=c[0].shape[1])),
              ("a missing 1/m in dW: dW = 1/m np.dot(dZ, A_prev.T)", lambda dZ, c: lb(dZ, c, kw=c[0].shape[1])),
              ("a missing 1/m in db: db = 1/m np.sum(dZ, axis=1, keepdims=True)",
               lambda dZ, c: lb(dZ, c, kb=c[0].shape[1])),
              ("an extra 1/m in dA_prev: dA_prev = np.dot(W.T, dZ)", lambda dZ, c: lb(dZ, c, ka=1 / c[0].shape[1])),
              ("returns in another order: the lesson returns (dA_prev, dW, db)",
               lambda dZ, c: (lambda r: (r[1], r[2], r[0]))(lb(dZ, c)))]))

    def lab_args(d):
        dZ, cache = lb_args(d)
        return dZ, (cache, d.arr(*dZ.shape)), d.choice(["sigmoid", "relu"])

    add(Spec("linear_activation_backward", ("dA", "cache", "activation"), ("dA_prev", "dW", "db"),
             "(dA_prev, dW, db), from the layer " + LAYER_CACHE, lab_args,
             [("the lesson's test case (sigmoid)", _lc_linear_activation_backward("sigmoid")),
              ("the lesson's test case (relu)", _lc_linear_activation_backward("relu"))],
             [("sigmoid and ReLU swapped: activation == \"sigmoid\" must use sigmoid_backward",
               lambda dA, c, a: S.linear_activation_backward(dA, c, "relu" if a == "sigmoid" else "sigmoid"))]))

    def lmb_args(d):
        dims = _dims(d, 1, 3)
        m = d.dim(1, 4)
        return d.prob(1, m), d.labels(1, m), _caches(d, dims, m)

    def lmb_fused(AL, Y, caches):
        return _backward_with(AL, Y, caches, "relu", "sigmoid", dAL=AL - Y.reshape(AL.shape))

    def lmb_sign(AL, Y, caches):
        Y2 = Y.reshape(AL.shape)
        return _backward_with(AL, Y, caches, "relu", "sigmoid", dAL=np.divide(Y2, AL) - np.divide(1 - Y2, 1 - AL))

    add(Spec("L_model_backward", ("AL", "Y", "caches"), ("grads",),
             "grads with grads['dA' + str(l)] for l = 0 .. L-1, grads['dW' + str(l)] and grads['db' + str(l)] "
             "for l = 1 .. L",
             lmb_args, [("the lesson's test case", _lc_L_model_backward)],
             [(SWAPPED, lambda AL, Y, c: _backward_with(AL, Y, c, "sigmoid", "relu")),
              ("the output layer goes back through ReLU; it must use \"sigmoid\"",
               lambda AL, Y, c: _backward_with(AL, Y, c, "relu", "relu")),
              ("the hidden layers go back through sigmoid; they must use \"relu\"",
               lambda AL, Y, c: _backward_with(AL, Y, c, "sigmoid", "sigmoid")),
              ("dAL's sign: dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))", lmb_sign),
              ("dAL = AL - Y is dZ[L], not dAL: dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)) goes "
               "through the sigmoid's backward step", lmb_fused)]))

    def up_args(d):
        dims = _dims(d, 1, 3)
        return _params(d, dims), _grads(d, dims), d.number(0.01, 1.0)

    def up_missing_last(p, g, lr):
        return _update(p, g, lr, layers=range(1, len(p) // 2))

    def up_missing_first(p, g, lr):
        return _update(p, g, lr, layers=range(2, len(p) // 2 + 1))

    add(Spec("update_parameters", ("parameters", "grads", "learning_rate"), ("parameters",),
             "parameters with every W[l] and b[l] updated, l = 1 .. L",
             up_args, [("the lesson's test case", _lc_update_parameters)],
             [("the update's sign: W[l] = W[l] - learning_rate * dW[l] (gradient descent goes downhill)",
               lambda p, g, lr: _update(p, g, lr, sign=1.0)),
              ("the update's sign for W: W[l] = W[l] - learning_rate * dW[l] (gradient descent goes downhill)",
               lambda p, g, lr: _update(p, g, lr, sign=1.0, sign_b=-1.0)),
              ("the update's sign for b: b[l] = b[l] - learning_rate * db[l] (gradient descent goes downhill)",
               lambda p, g, lr: _update(p, g, lr, sign_b=1.0)),
              ("the biases are not updated: b[l] = b[l] - learning_rate * db[l]",
               lambda p, g, lr: _update(p, g, lr, biases=False)),
              ("an off-by-one layer loop: the last layer is not updated (for l in range(L) with "
               "'W' + str(l + 1))", up_missing_last),
              ("an off-by-one layer loop: layer 1 is not updated (for l in range(L) with 'W' + str(l + 1))",
               up_missing_first)],
             may_mutate=(0,)))

    specs += _sequel_specs()
    return {s.name: s for s in specs}


# --- the lesson's sequel: initialization, mini-batches, optimizers, regularization, dropout, gradient check
def _sequel_specs():
    specs = []
    add = specs.append

    def dims_args(d):
        return ([d.dim(1, 5) for _ in range(d.dim(2, 4))],)

    def up_args(d):
        dims = _dims(d, 1, 3)
        return _params(d, dims), _grads(d, dims), d.number(0.01, 1.0)

    dims_layout = "parameters = {'W1': (n[1], n[0]), 'b1': (n[1], 1), ..., 'WL': (n[L], n[L-1]), 'bL': (n[L], 1)}"
    add(Spec("initialize_parameters_zeros", ("layers_dims",), ("parameters",), dims_layout, dims_args,
             [("the lesson's test case", lambda: ([3, 2, 1],))],
             [("W[l] must be zeros too, np.zeros((n[l], n[l-1]))",
               lambda dims: _init_with(dims, lambda *s: np.ones(s), lambda o, i: 1.0))]))
    add(Spec("initialize_parameters_random", ("layers_dims",), ("parameters",), dims_layout, dims_args,
             [("the lesson's test case", lambda: ([3, 2, 1],))],
             [("weights not scaled by 10: W[l] = np.random.randn(n[l], n[l-1]) * 10",
               lambda dims: _init_with(dims, _randn, lambda o, i: 1.0)),
              ("np.random.rand (uniform) instead of np.random.randn (normal)",
               lambda dims: _init_with(dims, _rand, lambda o, i: 10.0))],
             random=True))
    add(Spec("initialize_parameters_he", ("layers_dims",), ("parameters",), dims_layout, dims_args,
             [("the lesson's test case", lambda: ([2, 4, 1],))],
             [("He scales by sqrt(2 / n[l-1]), the layer's inputs, not sqrt(2 / n[l])",
               lambda dims: _init_with(dims, _randn, lambda o, i: np.sqrt(2 / o))),
              ("sqrt(1 / n[l-1]) is Xavier's scaling; He's is sqrt(2 / n[l-1])",
               lambda dims: _init_with(dims, _randn, lambda o, i: np.sqrt(1 / i))),
              ("the square root is missing: W[l] = np.random.randn(n[l], n[l-1]) * np.sqrt(2 / n[l-1])",
               lambda dims: _init_with(dims, _randn, lambda o, i: 2 / i))],
             random=True))

    def mb_args(d):
        m = d.dim(1, 12)
        return d.arr(d.dim(1, 3), m), d.labels(1, m), d.dim(1, 5), d.seed()

    def mb_no_last(X, Y, size, seed):
        batches = S.random_mini_batches(X, Y, size, seed)
        return batches[:-1] if X.shape[1] % size else batches

    add(Spec("random_mini_batches", ("X", "Y", "mini_batch_size", "seed"), ("mini_batches",),
             "a list of (mini_batch_X, mini_batch_Y), the full batches first, the smaller remainder last",
             mb_args, [],
             [("the last, smaller mini-batch (the m % mini_batch_size remaining examples) is missing", mb_no_last),
              ("X and Y are not shuffled: np.random.seed(seed), then permutation = np.random.permutation(m)",
               lambda X, Y, size, seed: [(X[:, k:k + size], Y[:, k:k + size]) for k in range(0, X.shape[1], size)])]))

    def p_args(d):
        return (_params(d, _dims(d, 1, 3)),)

    add(Spec("update_parameters_with_gd", ("parameters", "grads", "learning_rate"), ("parameters",),
             "parameters with every W[l] and b[l] updated", up_args, [],
             [("the update's sign: W[l] = W[l] - learning_rate * dW[l]", lambda p, g, lr: _update(p, g, lr, sign=1.0)),
              ("the biases are not updated", lambda p, g, lr: _update(p, g, lr, biases=False))],
             may_mutate=(0,)))

    add(Spec("initialize_velocity", ("parameters",), ("v",),
             "v = {'dW1': zeros like W1, 'db1': zeros like b1, ...}", p_args, [], []))

    def mom_args(d):
        dims = _dims(d, 1, 3)
        return _params(d, dims), _grads(d, dims), _grads(d, dims), d.number(0.5, 0.99), d.number(0.01, 0.5)

    def mom(p, g, v, beta, lr, k=None, use_v=True):
        p, v = {a: np.array(b, copy=True) for a, b in p.items()}, {a: np.array(b, copy=True) for a, b in v.items()}
        for key in v:
            v[key] = beta * v[key] + (1 - beta if k is None else k) * g[key]
            p[key[1:]] = p[key[1:]] - lr * (v[key] if use_v else g[key])
        return p, v

    add(Spec("update_parameters_with_momentum", ("parameters", "grads", "v", "beta", "learning_rate"),
             ("parameters", "v"), "(parameters, v)", mom_args, [],
             [("v = beta * v + (1 - beta) * dW: the (1 - beta) factor is missing",
               lambda p, g, v, b, lr: mom(p, g, v, b, lr, k=1.0)),
              ("the parameters must move along the velocity: W = W - learning_rate * v['dW']",
               lambda p, g, v, b, lr: mom(p, g, v, b, lr, use_v=False))],
             may_mutate=(0, 2)))

    add(Spec("initialize_adam", ("parameters",), ("v", "s"), "(v, s), each keyed 'dW1', 'db1', ...", p_args, [], []))

    def adam_args(d):
        dims = _dims(d, 1, 2)
        s = {k: np.abs(a) for k, a in _grads(d, dims).items()}
        return (_params(d, dims), _grads(d, dims), _grads(d, dims), s, d.integer(1, 10), d.number(0.001, 0.1),
                0.9, 0.999, 1e-8)

    def adam(p, g, v, s, t, lr, b1, b2, eps, correct=True, eps_inside=False, correct_v=True, correct_s=True):
        p, v, s = ({a: np.array(b, copy=True) for a, b in x.items()} for x in (p, v, s))
        vc, sc = {}, {}
        for key in v:
            v[key] = b1 * v[key] + (1 - b1) * g[key]
            s[key] = b2 * s[key] + (1 - b2) * g[key] ** 2
            vc[key] = v[key] / (1 - b1 ** t) if correct and correct_v else v[key]
            sc[key] = s[key] / (1 - b2 ** t) if correct and correct_s else s[key]
            denom = np.sqrt(sc[key] + eps) if eps_inside else np.sqrt(sc[key]) + eps
            p[key[1:]] = p[key[1:]] - lr * vc[key] / denom
        return p, v, s, vc, sc

    add(Spec("update_parameters_with_adam",
             ("parameters", "grads", "v", "s", "t", "learning_rate", "beta1", "beta2", "epsilon"),
             ("parameters", "v", "s", "v_corrected", "s_corrected"),
             "(parameters, v, s, v_corrected, s_corrected) (older versions of the lesson return the first three)",
             adam_args, [],
             [("v and s are not bias-corrected: v_corrected = v / (1 - beta1 ** t), "
               "s_corrected = s / (1 - beta2 ** t)", lambda *a: adam(*a, correct=False)),
              ("v is not bias-corrected: v_corrected = v / (1 - beta1 ** t)", lambda *a: adam(*a, correct_v=False)),
              ("s is not bias-corrected: s_corrected = s / (1 - beta2 ** t)", lambda *a: adam(*a, correct_s=False)),
              ("epsilon goes outside the square root: W -= lr * v_corrected / (np.sqrt(s_corrected) + epsilon)",
               lambda *a: adam(*a, eps_inside=True))],
             may_mutate=(0, 2, 3), compare_first=3))

    add(Spec("update_lr", ("learning_rate0", "epoch_num", "decay_rate"), ("learning_rate",),
             "learning_rate, a number", lambda d: (d.number(0.01, 1.0), d.integer(0, 50), d.number(0.1, 2.0)), [],
             [("parentheses: learning_rate = learning_rate0 / (1 + decay_rate * epoch_num)",
               lambda a0, e, r: a0 / 1 + r * e)]))
    add(Spec("schedule_lr_decay", ("learning_rate0", "epoch_num", "decay_rate", "time_interval"),
             ("learning_rate",), "learning_rate, a number",
             lambda d: (d.number(0.01, 1.0), d.integer(0, 5000), d.number(0.1, 2.0), d.integer(100, 1000)), [],
             [("np.floor is missing: learning_rate0 / (1 + decay_rate * np.floor(epoch_num / time_interval))",
               lambda a0, e, r, ti: a0 / (1 + r * (e / ti)))]))

    def ccr_args(d):
        dims = _dims(d, 1, 3)
        m = d.dim(1, 5)
        return d.prob(1, m), d.labels(1, m), _params(d, dims), d.number(0.0, 1.0)

    def ccr(AL, Y, p, lambd, k=0.5, bias=False):
        m = Y.shape[1]
        keys = [k_ for k_ in p if k_.startswith("W") or bias]
        return float(S.compute_cost(AL, Y)) + k * lambd / m * sum(np.sum(np.square(p[k_])) for k_ in keys)

    add(Spec("compute_cost_with_regularization", ("AL", "Y", "parameters", "lambd"), ("cost",),
             "cost, a number", ccr_args, [],
             [("lambd / m where the lesson has lambd / (2 m): J += lambd / (2 m) Σ ‖W[l]‖²",
               lambda *a: ccr(*a, k=1.0)),
              ("the biases are penalised too; L2 regularization sums the weights W[l] only",
               lambda *a: ccr(*a, bias=True))]))

    def drop_args(d):
        dims = _dims(d, 1, 3)
        return d.arr(dims[0], d.dim(1, 5)), _params(d, dims), d.number(0.3, 0.95)

    def drop_fwd(X, p, keep, scale=True):
        caches, A = [], X
        L = len(p) // 2
        for l in range(1, L):
            A, (lin, Z) = S.linear_activation_forward(A, p["W" + str(l)], p["b" + str(l)], "relu")
            D = (np.random.rand(A.shape[0], A.shape[1]) < keep).astype(np.float64)
            A = A * D / (keep if scale else 1.0)
            caches.append((lin, Z, D))
        AL, (lin, Z) = S.linear_activation_forward(A, p["W" + str(L)], p["b" + str(L)], "sigmoid")
        caches.append((lin, Z, None))
        return AL, caches

    add(Spec("L_model_forward_with_dropout", ("X", "parameters", "keep_prob"), ("AL", "caches"),
             "(AL, caches), caches[l-1] = (linear_cache, Z, D) with D the 0/1 mask (None for the output layer)",
             drop_args, [],
             [("the kept activations are not divided by keep_prob (inverted dropout: A = A * D / keep_prob)",
               lambda X, p, k: drop_fwd(X, p, k, scale=False))], random=True))

    def dropb_args(d):
        dims = _dims(d, 1, 3)
        m = d.dim(1, 4)
        keep = d.number(0.3, 0.95)
        caches = []
        for l, ((A, W, b), Z) in enumerate(_caches(d, dims, m), start=1):
            D = d.labels(*Z.shape) if l < len(dims) - 1 else None
            caches.append(((A, W, b), Z, D))
        return d.prob(1, m), d.labels(1, m), caches, keep

    def drop_bwd(AL, Y, caches, keep, scale=True, mask=True):
        grads = {}
        L = len(caches)
        m = AL.shape[1]
        dZ = AL - Y.reshape(AL.shape)
        for l in range(L, 0, -1):
            (A_prev, W, b), Z, _ = caches[l - 1]
            if l < L:
                dZ = np.where(Z > 0, grads["dA" + str(l)], 0.0)
            grads["dW" + str(l)] = dZ @ A_prev.T / m
            grads["db" + str(l)] = np.sum(dZ, axis=1, keepdims=True) / m
            dA = W.T @ dZ
            if l > 1:
                dA = (dA * caches[l - 2][2] if mask else dA) / (keep if scale else 1.0)
            grads["dA" + str(l - 1)] = dA
        return grads

    add(Spec("L_model_backward_with_dropout", ("AL", "Y", "caches", "keep_prob"), ("grads",),
             "grads keyed as L_model_backward's", dropb_args, [],
             [("dA[l] is not divided by keep_prob: dA[l] = dA[l] * D[l] / keep_prob, as in the forward pass",
               lambda *a: drop_bwd(*a, scale=False)),
              ("the mask D[l] is not applied to dA[l]: shut down the same units as in the forward pass",
               lambda *a: drop_bwd(*a, mask=False))]))

    def regb_args(d):
        AL, Y, caches = lmb_like(d)
        return AL, Y, caches, d.number(0.0, 1.0)

    def lmb_like(d):
        dims = _dims(d, 1, 3)
        m = d.dim(1, 4)
        return d.prob(1, m), d.labels(1, m), _caches(d, dims, m)

    def regb_k(AL, Y, caches, lambd, k):
        g = S.L_model_backward_with_regularization(AL, Y, caches, 0.0)
        m = AL.shape[1]
        for l, ((_, W, _), _) in enumerate(caches, start=1):
            g["dW" + str(l)] = g["dW" + str(l)] + k * lambd / m * W
        return g

    add(Spec("L_model_backward_with_regularization", ("AL", "Y", "caches", "lambd"), ("grads",),
             "grads keyed as L_model_backward's", regb_args, [],
             [("the L2 term is missing from dW[l]: dW[l] += lambd / m * W[l]", lambda *a: regb_k(*a, 0.0)),
              ("the L2 term is 2 lambd / m W[l]; the derivative of lambd / (2 m) ‖W‖² is lambd / m W",
               lambda *a: regb_k(*a, 2.0))]))

    def gc_args(d):
        dims = _dims(d, 1, 2)
        m = d.dim(1, 4)
        X, p = d.arr(dims[0], m), _params(d, dims)
        Y = d.labels(1, m)
        AL, caches = S.L_model_forward(X, p)
        grads = S.L_model_backward_with_regularization(AL, Y, caches, 0.0)
        # a wrong gradient, so the difference is large enough to compare
        grads = {k: v * 1.5 + 0.1 for k, v in grads.items()}
        return p, grads, X, Y, 1e-7

    def gc(p, grads, X, Y, eps, k=2.0, normalise=True):
        from ..gradcheck import numerical_gradient

        keys = [q + str(l) for l in range(1, len(p) // 2 + 1) for q in ("W", "b")]
        shapes = [np.shape(p[key]) for key in keys]
        sizes = np.cumsum([0] + [int(np.prod(sh)) for sh in shapes])
        theta = np.concatenate([np.ravel(p[key]) for key in keys]).astype(np.float64)
        grad = np.concatenate([np.ravel(grads["d" + key]) for key in keys])

        def J(th):
            q = {key: th[sizes[i]:sizes[i + 1]].reshape(shapes[i]) for i, key in enumerate(keys)}
            return float(S.compute_cost(S.L_model_forward(X, q)[0], Y))

        approx = numerical_gradient(J, theta, eps) * 2.0 / k
        num = np.linalg.norm(grad - approx)
        return num / (np.linalg.norm(grad) + np.linalg.norm(approx)) if normalise else num

    add(Spec("gradient_check", ("parameters", "gradients", "X", "Y", "epsilon"), ("difference",),
             "difference, a number", gc_args, [],
             [("the two-sided difference is divided by ε; it is (J(θ + ε) - J(θ - ε)) / (2ε)",
               lambda *a: gc(*a, k=1.0)),
              ("the difference is not normalised: ‖grad - gradapprox‖ / (‖grad‖ + ‖gradapprox‖)",
               lambda *a: gc(*a, normalise=False))],
             rtol=1e-4, atol=1e-7))
    return specs


SPECS = _specs()
FUNCTIONS = tuple(SPECS)
