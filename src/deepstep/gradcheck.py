"""Gradient checking: numerical (two-sided) against analytic gradients.

    dθ_approx[i] = (J(θ + ε e_i) - J(θ - ε e_i)) / (2ε)
    difference   = ‖dθ - dθ_approx‖ / (‖dθ‖ + ‖dθ_approx‖)

A difference below about 1e-7 (float64, ε = 1e-7) means the backward pass is
right; above 1e-3 it is almost certainly wrong.

Why the model is checked through its flat buffer: a :class:`DeepNetwork`
keeps every ``W[l]`` and ``b[l]`` as views into one vector ``theta`` and its
gradients as views into ``grad`` (see :mod:`deepstep.engine`). Perturbing one
entry of ``theta`` in place therefore perturbs exactly one parameter, and the
analytic gradient is already the vector ``grad`` in the same order, so the
check needs no dict-to-vector conversion and tests the very code that trains.

Why float64 only: the two-sided difference divides a cost difference of size
about ε·|g| by 2ε. In float32 (eps ≈ 1.2e-7) the rounding of J alone is as
large as the signal at ε = 1e-7, so the result says nothing about the
backward pass.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidParameterError, NotFittedError

__all__ = ["check_configurations", "check_model", "numerical_gradient", "relative_difference"]


def numerical_gradient(J, theta, epsilon=1e-7):
    """Two-sided finite differences of ``J`` at the 1-D float64 vector ``theta``.

    ``theta`` is perturbed in place one entry at a time and restored exactly.
    """
    grad = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + epsilon
        j_plus = J(theta)
        theta[i] = old - epsilon
        j_minus = J(theta)
        theta[i] = old
        grad[i] = (j_plus - j_minus) / (2 * epsilon)
    return grad


def relative_difference(grad, gradapprox):
    """‖g - g̃‖ / (‖g‖ + ‖g̃‖); 0.0 when both are zero."""
    num = np.linalg.norm(grad - gradapprox)
    den = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return float(num / den) if den > 0 else 0.0


def model_gradients(net, X, Y, epsilon=1e-7):
    """Analytic and numerical gradients of a model's full cost, as flat vectors.

    Parameters
    ----------
    net : DeepNetwork
        A built model (trained, loaded, or built with ``build``) whose
        ``hp.dtype`` is ``"float64"`` and ``hp.keep_prob`` is 1.
    X : array-like of shape (n_x, m)
        Raw inputs, one example per column; the model's fitted scaler is
        applied, as in ``fit``.
    Y : array-like
        Targets in any form ``fit`` accepts for this model (labels of shape
        (m,) or (1, m), or a matrix of shape (n_y, m)).
    epsilon : float, default 1e-7
        The two-sided step.

    Returns
    -------
    grad : ndarray of shape (n_params,)
        ``net.engine.backward`` including the L2 term ``net.hp.l2``.
    gradapprox : ndarray of shape (n_params,)
        Finite differences of ``engine.cost`` (loss + L2) over ``net.engine.theta``.

    Raises
    ------
    NotFittedError
        If the model is not built.
    InvalidParameterError
        If the model is not float64, or dropout is on (``keep_prob < 1``).
    """
    if not net.is_built:
        raise NotFittedError("This DeepNetwork is not trained yet: call fit() or load a model first.")
    eng = net.engine
    if eng.dtype != np.float64:
        raise InvalidParameterError(
            f"Gradient checking needs a float64 model; this one is {eng.dtype}. Build it with "
            f"dtype='float64' (float32 rounding is as large as the finite-difference signal)."
        )
    if net.hp.keep_prob < 1.0:
        raise InvalidParameterError(
            f"Gradient checking needs dropout off (keep_prob=1); this model has "
            f"keep_prob={net.hp.keep_prob}. Random masks make the cost a different function "
            f"at every evaluation."
        )
    X = net.check_input(X)
    Y = np.asarray(Y)
    if Y.shape[-1] != X.shape[1]:
        from .errors import DataError

        raise DataError(f"X has {X.shape[1]} examples (columns) but Y has {Y.shape[-1]}; they must match.")
    Xs = net.scaler.transform(X, np.float64)                  # (n_x, m)
    Yc = net.targets.encode_rows(Y, np.float64).T            # (n_y, m)
    l2 = net.hp.l2
    ws = eng.workspace(Xs.shape[1])

    eng.forward(Xs, ws)
    grad = eng.backward(Xs, Yc, ws, l2).copy()

    def J(theta):
        # theta is eng.theta itself: W[l], b[l] are views into it.
        return eng.cost(eng.forward(Xs, ws), Yc, l2)

    gradapprox = numerical_gradient(J, eng.theta, epsilon)
    return grad, gradapprox


def check_model(net, X, Y, epsilon=1e-7) -> float:
    """Relative difference between a model's analytic and numerical gradients.

    Parameters
    ----------
    net : DeepNetwork
        A built float64 model with dropout off (``keep_prob=1``); its L2
        strength ``hp.l2`` is part of the checked cost.
    X : array-like of shape (n_x, m)
        Raw inputs (the model's scaler is applied).
    Y : array-like
        Labels of shape (m,) or (1, m), or targets of shape (n_y, m).
    epsilon : float, default 1e-7

    Returns
    -------
    float
        ``‖g - g̃‖ / (‖g‖ + ‖g̃‖)``: below ~1e-7 the backward pass is right.

    Examples
    --------
    >>> net = DeepNetwork(layers=(5, 3), dtype="float64", l2=0.1)   # doctest: +SKIP
    >>> net.fit(X, y, epochs=1)                                       # doctest: +SKIP
    >>> check_model(net, X[:, :10], y[:10]) < 1e-7                    # doctest: +SKIP
    True
    """
    grad, gradapprox = model_gradients(net, X, Y, epsilon)
    return relative_difference(grad, gradapprox)


def random_problem(rng, output, n_x, n_y, m):
    """Random inputs (n_x, m) and targets that ``output`` trains on.

    sigmoid: 0/1 labels (m,) when n_y == 1, else a 0/1 multilabel matrix
    (n_y, m); softmax: integer labels with n_y classes (each class present);
    linear: a real matrix (n_y, m).
    """
    X = rng.standard_normal((n_x, m))
    if output == "sigmoid":
        if n_y == 1:
            y = rng.permutation(np.arange(m) % 2)           # both classes present
            return X, y
        return X, (rng.random((n_y, m)) < 0.5).astype(np.float64)
    if output == "softmax":
        return X, rng.permutation(np.arange(m) % n_y)
    return X, rng.standard_normal((n_y, m))


def _randomize(net, X, rng, z_max=4.0):
    """Random biases, and an output layer scaled so that max |Z[L]| <= ``z_max``.

    Zero biases put every pre-activation of an all-zero input column exactly
    on the kink of relu; random ones move it off. A saturated sigmoid output
    (|Z[L]| ≳ 30) leaves 1 - A[L] below the resolution of A[L] itself, so the
    cost, computed from probabilities, cannot resolve an ε step: that would
    measure the conditioning of the cost, not the backward pass.
    """
    eng = net.engine
    for b in eng.b:
        b[...] = rng.normal(0.0, 0.5, size=b.shape)
    eng.forward(np.asarray(X, np.float64), eng.workspace(X.shape[1]))
    z = float(np.abs(eng.workspace(X.shape[1]).Z[-1]).max())
    if z > z_max:
        eng.W[-1] *= z_max / z
        eng.b[-1] *= z_max / z


def check_configurations(seed=0, n=2, *, max_depth=3, max_width=6, epsilon=1e-7):
    """Gradient-check many random small networks, one grid cell at a time.

    The grid is every hidden activation in the registry (including ones added
    with :func:`deepstep.register_activation`) × output sigmoid, softmax and
    linear × L2 off / on. For each cell, ``n`` networks get a random depth
    (0 .. ``max_depth`` hidden layers), random widths (1 .. ``max_width``),
    random n_x, n_y and m, random biases (so no pre-activation sits exactly on
    a kink of relu or leaky relu) and random data.

    Parameters
    ----------
    seed : int, default 0
        Seeds everything; the same seed checks the same networks.
    n : int, default 2
        Random architectures per grid cell; ``len(result) = n × cells``.
    max_depth, max_width : int
        Bounds of the random architectures.
    epsilon : float, default 1e-7

    Returns
    -------
    list of (dict, float)
        ``(config, difference)`` where config has keys ``activation``,
        ``output``, ``l2``, ``layers``, ``n_x``, ``n_y``, ``m`` and ``seed``.
    """
    from .activations import ACTIVATIONS
    from .network import DeepNetwork
    from .targets import TargetEncoder

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"The 'n' parameter must be an int in [1, inf). Got {n!r} instead.")
    rng = np.random.default_rng(seed)
    hidden = sorted(name for name, a in ACTIVATIONS.items() if a.hidden)
    results = []
    for activation in hidden:
        for output in ("sigmoid", "softmax", "linear"):
            for l2_on in (False, True):
                for _ in range(n):
                    depth = int(rng.integers(0, max_depth + 1))
                    layers = tuple(int(w) for w in rng.integers(1, max_width + 1, size=depth))
                    n_x = int(rng.integers(1, 6))
                    n_y = int(rng.integers(2, 5)) if output == "softmax" else int(rng.integers(1, 4))
                    m = int(rng.integers(max(n_y, 2), 9))
                    l2 = float(rng.uniform(0.1, 2.0)) if l2_on else 0.0
                    net_seed = int(rng.integers(2**31))
                    X, Y = random_problem(rng, output, n_x, n_y, m)
                    net = DeepNetwork(layers=layers, activation=activation, output=output, l2=l2,
                                      dtype="float64", preprocess="none", seed=net_seed)
                    net.build(n_x, TargetEncoder.infer(Y, output))
                    _randomize(net, X, rng)
                    diff = check_model(net, X, Y, epsilon)
                    config = {"activation": activation, "output": output, "l2": l2, "layers": layers,
                              "n_x": n_x, "n_y": n_y, "m": m, "seed": net_seed}
                    results.append((config, diff))
    return results
