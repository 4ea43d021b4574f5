"""Optimizers and learning-rate schedules.

The update rules are written once, as in-place kernels on NumPy arrays of any
shape. :mod:`deepstep.steps` applies them to each ``W[l]`` and ``b[l]`` of a
parameter dict; the model applies them to one flat buffer that holds every
parameter (so an update is a handful of NumPy calls whatever the depth).
Each kernel evaluates the textbook expression in the textbook order, so both
callers get the same numbers bit for bit.

In order of complexity (g is the gradient, α the learning rate):

gd        W -= α g
momentum  v = β v + (1 - β) g;                    W -= α v
nesterov  v = β v + (1 - β) g;                    W -= α (β v + (1 - β) g)
rmsprop   s = β2 s + (1 - β2) g²;                 W -= α g / (√s + ε)
adam      v = β1 v + (1 - β1) g;  s = β2 s + (1 - β2) g²
          v̂ = v / (1 - β1^t);     ŝ = s / (1 - β2^t);  W -= α v̂ / (√ŝ + ε)

Momentum is the exponentially weighted form used in the lesson's course
(β = ``momentum``); PyTorch's ``SGD(momentum=β, lr=α)`` equals it with
α_deepstep = α / (1 - β).
"""

from __future__ import annotations

import math

import numpy as np

from . import fused as _fused
from .errors import unknown_name


# --- kernels -----------------------------------------------------------------
def gd_update(param, grad, lr, tmp=None):
    tmp = np.multiply(lr, grad, out=tmp)
    param -= tmp


def momentum_update(param, grad, v, beta, lr, tmp=None):
    v *= beta
    tmp = np.multiply(1 - beta, grad, out=tmp)
    v += tmp
    np.multiply(lr, v, out=tmp)
    param -= tmp


def nesterov_update(param, grad, v, beta, lr, tmp=None):
    v *= beta
    tmp = np.multiply(1 - beta, grad, out=tmp)
    v += tmp
    # look-ahead step: β v + (1 - β) g
    tmp2 = np.multiply(beta, v)
    tmp2 += tmp
    tmp2 *= lr
    param -= tmp2


def rmsprop_update(param, grad, s, beta2, lr, eps, tmp=None):
    s *= beta2
    tmp = np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    s += tmp
    np.sqrt(s, out=tmp)
    tmp += eps
    np.divide(grad, tmp, out=tmp)
    tmp *= lr
    param -= tmp


def adam_update(param, grad, v, s, t, lr, beta1, beta2, eps, v_hat=None, s_hat=None):
    """Adam step ``t`` (1-based), in place. Returns ``(v_hat, s_hat)``."""
    v *= beta1
    v_hat = np.multiply(1 - beta1, grad, out=v_hat)
    v += v_hat
    s *= beta2
    s_hat = np.multiply(grad, grad, out=s_hat)
    s_hat *= 1 - beta2
    s += s_hat
    np.divide(v, 1 - beta1 ** t, out=v_hat)
    np.divide(s, 1 - beta2 ** t, out=s_hat)
    # W -= α v̂ / (√ŝ + ε), evaluated as (α v̂) / (√ŝ + ε)
    den = np.sqrt(s_hat)
    den += eps
    step = np.multiply(lr, v_hat)
    step /= den
    param -= step
    return v_hat, s_hat


# --- learning-rate schedules (lr0, epoch, decay_rate, interval) -> lr --------
def inverse_decay(lr0, epoch, decay_rate, interval=1):
    """α = α0 / (1 + decay_rate · epoch)."""
    return lr0 / (1 + decay_rate * epoch)


def step_decay(lr0, epoch, decay_rate, interval=1000):
    """α = α0 / (1 + decay_rate · floor(epoch / interval))."""
    return lr0 / (1 + decay_rate * math.floor(epoch / interval))


SCHEDULES = {
    "constant": lambda lr0, epoch, decay_rate, interval: lr0,
    "inverse": inverse_decay,
    "step": step_decay,
}


# --- stateful optimizers over one flat parameter buffer ----------------------
# Every kernel is elementwise, so the flat buffer is updated in parts: each part's
# few passes run while its slice of the parameters, gradient and state is in cache
# (one pass over the whole buffer at a time runs at DRAM/L3 bandwidth), and the
# parts are shared among the helper threads (:func:`deepstep.engine.helpers`).
# The numbers are the same bit for bit as one call on the whole buffer.
_PART = 1 << 17          # elements per part (512 KiB per array): measured best of 2^15..2^19 on W4


class Optimizer:
    """Base class: holds the state arrays (same shape as the parameters)."""

    name = "gd"
    slots: tuple = ()
    temps = 1            # scratch buffers the kernel takes

    def __init__(self, hp):
        self.hp = hp
        self.t = 0
        self.state: dict[str, np.ndarray] = {}

    def init_state(self, like: np.ndarray):
        self.t = 0
        self.state = {k: np.zeros_like(like) for k in self.slots}
        self._tmp = [np.empty_like(like) for _ in range(self.temps)]
        self._parts = self._split = None
        self._memo = {}

    def step(self, param, grad, lr):
        self.t += 1
        from .engine import helpers

        if param.ndim != 1 or param.size <= _PART or (
                helpers().threads == 1 and self._kernels(param, grad, lr) is not None):
            # A compiled kernel makes one pass whatever the size: parts only to share among threads.
            self._apply(param, grad, lr, self.state, self._tmp)
            return
        parts = self._partition(param, grad)
        apply = self._apply

        def run(lo, hi):
            for p, g, st, tmp in parts[lo:hi]:
                apply(p, g, lr, st, tmp)

        helpers().split(run, len(parts), min_part=2)

    def step_split(self, param, grads, lr, shares, run):
        """One step with the gradient ``grads[0] + grads[1] + ...``, in ``shares`` contiguous shares.

        Each share adds the other buffers into ``grads[0]``, part by part and in
        their order (the same sum for the same number of buffers), and updates
        the part while it is in cache. ``run(fn, shares)`` calls ``fn(i)`` for
        every share, e.g. on threads (:mod:`deepstep.parallel`). With one
        gradient buffer the numbers are :meth:`step`'s.
        """
        self.t += 1
        views = self._shares(param, grads, shares)
        apply = self._apply

        def share(i):
            for p, gs, st, tmp in views[i]:
                g = gs[0]
                for other in gs[1:]:
                    g += other
                apply(p, g, lr, st, tmp)

        run(share, shares)

    def _shares(self, param, grads, shares):
        """Per share, the views of (param, grads, state, temps) per part; made once per buffer set."""
        key = (param, *grads)
        cached = getattr(self, "_split", None)
        if cached is not None and cached[1] == shares and len(cached[0]) == len(key) \
                and all(a is b for a, b in zip(cached[0], key)):
            return cached[2]
        size = param.size
        part = max(1, min(_PART, -(-size // shares)))
        bounds = list(range(0, size, part)) + [size]
        n_parts = len(bounds) - 1
        views = []
        for i in range(shares):
            mine = []
            for j in range(n_parts * i // shares, n_parts * (i + 1) // shares):
                sl = slice(bounds[j], bounds[j + 1])
                mine.append((param[sl], [g[sl] for g in grads], {k: v[sl] for k, v in self.state.items()},
                             [t[sl] for t in self._tmp]))
            views.append(mine)
        self._split = (key, shares, views)
        return views

    def _partition(self, param, grad):
        """Views of (param, grad, state, temps) per part, made once per buffer pair."""
        if self._parts is None or self._parts[0] is not param or self._parts[1] is not grad:
            views = []
            for s in range(0, param.size, _PART):
                sl = slice(s, min(s + _PART, param.size))
                views.append((param[sl], grad[sl], {k: v[sl] for k, v in self.state.items()},
                              [t[sl] for t in self._tmp]))
            self._parts = (param, grad, views)
        return self._parts[2]

    def _kernels(self, param, grad, lr, state=None):
        """The compiled kernels (:mod:`deepstep.fused`) if this update can run in them with
        NumPy's numbers: 1-D contiguous float32/float64 buffers of one dtype and size (the
        parameters, the gradient, the state) and scalars NumPy would cast to that dtype.

        The buffers' answer is remembered per buffer set (a step would otherwise spend
        longer asking than a small network's update takes); the learning rate and the
        switch are asked every time."""
        st = self.state if state is None else state
        memo = self.__dict__.setdefault("_memo", {})
        slots = tuple(st.values())
        hit = memo.get(id(param))
        if (hit is None or hit[0] is not param or hit[1] is not grad or hit[2] is not self.hp
                or len(hit[3]) != len(slots) or any(a is not b for a, b in zip(hit[3], slots))
                or not (isinstance(param, np.ndarray) and param.flags.writeable)):
            ok = (isinstance(param, np.ndarray) and isinstance(grad, np.ndarray) and param.flags.writeable
                  and all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == param.dtype
                          and a.shape == param.shape and a.flags.c_contiguous for a in (param, grad, *slots))
                  and _fused.same_dtype(param.dtype, *self._scalars()))
            if len(memo) > 64:
                memo.clear()
            hit = memo[id(param)] = (param, grad, self.hp, slots, ok)
        if not hit[4]:
            return None
        kind = type(lr)
        if not (kind is float or kind is int or _fused.same_dtype(param.dtype, lr)):
            return None
        return _fused.kernels(param.dtype)

    def _scalars(self):
        return ()

    def get_state(self):
        return {"t": self.t, **{k: v.copy() for k, v in self.state.items()}}

    def set_state(self, state, like):
        self.init_state(like)
        self.t = int(state.get("t", 0))
        for k in self.slots:
            if k in state:
                np.copyto(self.state[k], state[k])

    # The parts' views hold the state arrays; a pickled copy rebuilds them.
    def __getstate__(self):
        d = self.__dict__.copy()
        d["_parts"] = d["_split"] = None
        d.pop("_memo", None)
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._parts = self._split = None
        tmp = d.get("_tmp")
        if isinstance(tmp, np.ndarray):          # pickled before the temps became a list
            self._tmp = [tmp] + [np.empty_like(tmp) for _ in range(self.temps - 1)]
            self.__dict__.pop("_tmp2", None)


class GD(Optimizer):
    name = "gd"

    def _apply(self, param, grad, lr, state, tmp):
        K = self._kernels(param, grad, lr, state)
        if K is not None:
            K.gd(param, grad, param.dtype.type(lr))
        else:
            gd_update(param, grad, lr, tmp[0])


class _WithVelocity(Optimizer):
    """momentum and nesterov: one velocity slot, β = ``momentum``; ``_kernel`` names the
    compiled kernel and ``_numpy`` the NumPy one (the same numbers)."""

    slots = ("v",)

    def _scalars(self):
        return (self.hp.momentum,)

    def _apply(self, param, grad, lr, state, tmp):
        K, beta = self._kernels(param, grad, lr, state), self.hp.momentum
        if K is not None:
            dt = param.dtype.type
            getattr(K, self._kernel)(param, grad, state["v"], dt(beta), dt(1 - beta), dt(lr))
        else:
            self._numpy(param, grad, state["v"], beta, lr, tmp[0])


class Momentum(_WithVelocity):
    name = _kernel = "momentum"
    _numpy = staticmethod(momentum_update)


class Nesterov(_WithVelocity):
    name = _kernel = "nesterov"
    _numpy = staticmethod(nesterov_update)


class RMSprop(Optimizer):
    name, slots = "rmsprop", ("s",)

    def _scalars(self):
        return (self.hp.beta2, self.hp.epsilon)

    def _apply(self, param, grad, lr, state, tmp):
        K, beta2, eps = self._kernels(param, grad, lr, state), self.hp.beta2, self.hp.epsilon
        if K is not None:
            dt = param.dtype.type
            K.rmsprop(param, grad, state["s"], dt(beta2), dt(1 - beta2), dt(lr), dt(eps))
        else:
            rmsprop_update(param, grad, state["s"], beta2, lr, eps, tmp[0])


class Adam(Optimizer):
    name, slots, temps = "adam", ("v", "s"), 2

    def _scalars(self):
        return (self.hp.momentum, self.hp.beta2, self.hp.epsilon)

    def _apply(self, param, grad, lr, state, tmp):
        K, t = self._kernels(param, grad, lr, state), self.t
        beta1, beta2, eps = self.hp.momentum, self.hp.beta2, self.hp.epsilon
        if K is not None:
            dt = param.dtype.type
            K.adam(param, grad, state["v"], state["s"], dt(beta1), dt(1 - beta1), dt(beta2), dt(1 - beta2),
                   dt(1 - beta1 ** t), dt(1 - beta2 ** t), dt(lr), dt(eps))
        else:
            adam_update(param, grad, state["v"], state["s"], t, lr, beta1, beta2, eps, tmp[0], tmp[1])


OPTIMIZERS = {cls.name: cls for cls in (GD, Momentum, Nesterov, RMSprop, Adam)}


def get_optimizer(name, hp):
    try:
        return OPTIMIZERS[name](hp)
    except (KeyError, TypeError):
        raise unknown_name("optimizer", name, OPTIMIZERS) from None
