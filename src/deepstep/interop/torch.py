"""PyTorch: ``DeepNetwork.to_torch()`` -> ``nn.Sequential``, and ``DeepNetwork.from_torch(module)``.

deepstep's W[l] of shape (n[l], n[l-1]) is ``torch.nn.Linear.weight``'s layout,
so the weights are copied as they are. The Sequential takes rows (batch, n_x)::

    [InputScaling] -> Linear -> ReLU -> ... -> Linear -> [Sigmoid | Softmax(dim=1)]

``InputScaling`` (this module's, with buffers ``shift`` and ``factor``) is there
when the model scales its inputs. Needs ``pip install deepstep[torch]``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from .predictor import describe, torch_layout


def _require_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("PyTorch interop needs torch: pip install 'deepstep[torch]'") from None
    return torch


try:                       # this module is imported only by to_torch / from_torch / `deepstep export`
    import torch as _torch
except ImportError:        # _require_torch() says how to install it
    _torch = None

if _torch is not None:
    class InputScaling(_torch.nn.Module):
        """``(x - shift) * factor`` per feature (deepstep's fitted input scaling); ``kind`` says which."""

        def __init__(self, shift, factor, kind="standardize"):
            super().__init__()
            self.kind = kind
            self.register_buffer("shift", _torch.as_tensor(shift))
            self.register_buffer("factor", _torch.as_tensor(factor))

        def forward(self, x):
            return (x - self.shift) * self.factor

        def extra_repr(self):
            return f"kind={self.kind!r}, features={self.shift.numel()}"


def to_torch(model):
    """An ``nn.Sequential`` computing the model's ``predict_proba`` (transposed: rows in, rows out)."""
    torch = _require_torch()
    nn = torch.nn
    p = describe(model)
    tdtype = torch.float64 if p.dtype == np.float64 else torch.float32
    mods = []
    for _, kind, detail in torch_layout(p):
        if kind == "scale":
            if detail == "divide255":
                shift, factor = np.zeros(p.n_x, p.dtype), np.full(p.n_x, 1 / 255.0, p.dtype)
            else:
                shift, factor = p.shift, p.factor
            mods.append(InputScaling(torch.from_numpy(shift.copy()), torch.from_numpy(factor.copy()),
                                               detail))
        elif kind == "linear":
            W, b = p.weights[detail], p.biases[detail]
            lin = nn.Linear(W.shape[1], W.shape[0], dtype=tdtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
        else:
            mods.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                         "leaky_relu": lambda: nn.LeakyReLU(0.01),
                         "softmax": lambda: nn.Softmax(dim=1)}[detail]())
    return nn.Sequential(*mods)


def from_torch(module, model_class, classes=None, **overrides):
    """A ``model_class`` (DeepNetwork) from an ``nn.Sequential`` of Linear layers and supported activations.

    Called as ``DeepNetwork.from_torch(module)``.

    Hidden activations: ReLU, LeakyReLU(0.01), Tanh, Sigmoid (or none:
    linear). The output: Sigmoid (binary labels 0/1 for one unit, multilabel
    for more), Softmax(dim=1) (classes 0..n-1), or nothing (regression). A
    leading :class:`InputScaling` becomes the model's input scaling.
    ``classes`` names the labels; ``overrides`` are hyperparameters to set.
    """
    torch = _require_torch()
    nn = torch.nn
    from ..preprocessing import Scaler

    if not isinstance(module, nn.Sequential):
        raise InvalidParameterError(f"from_torch needs an nn.Sequential; got {type(module).__name__}.")
    mods = list(module)
    scaler = None
    if mods and isinstance(mods[0], InputScaling):
        s = mods.pop(0)
        shift = s.shift.detach().cpu().double().numpy().ravel()
        factor = s.factor.detach().cpu().double().numpy().ravel()
        kind = getattr(s, "kind", "standardize")
        scaler = (Scaler("divide255") if kind == "divide255"
                  else Scaler(kind if kind in ("standardize", "minmax") else "standardize", shift, factor))
    params, acts, dtype = {}, [], None
    i = 0
    while i < len(mods):
        m = mods[i]
        if not isinstance(m, nn.Linear):
            raise InvalidParameterError(f"from_torch: expected nn.Linear at position {i}, got {m!r}. Supported: "
                                        f"Linear layers, each followed by ReLU, LeakyReLU(0.01), Tanh, "
                                        f"Sigmoid, Softmax(dim=1) (output only) or nothing.")
        if m.bias is None:
            raise InvalidParameterError(f"from_torch: the Linear layer at position {i} has no bias.")
        l = len(acts) + 1
        W = m.weight.detach().cpu()
        dtype = dtype or ("float64" if W.dtype == torch.float64 else "float32")
        params[f"W{l}"] = W.double().numpy().copy()
        params[f"b{l}"] = m.bias.detach().cpu().double().numpy().reshape(-1, 1).copy()
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        act = _activation_name(nxt, nn)
        acts.append(act)
        i += 1 if act == "linear" and not isinstance(nxt, nn.Identity) else 2
    if not acts:
        raise InvalidParameterError("from_torch: the Sequential has no Linear layer.")
    output = acts[-1]
    if output not in ("sigmoid", "softmax", "linear"):
        raise InvalidParameterError(f"from_torch: the last layer's activation is {output}; deepstep's output "
                                    f"layer is Sigmoid, Softmax(dim=1) or none (regression).")
    if "softmax" in acts[:-1]:
        raise InvalidParameterError("from_torch: Softmax can only be the output activation.")
    hidden = tuple(acts[:-1])
    overrides.setdefault("activation", hidden if hidden else "relu")
    overrides.setdefault("dtype", dtype)
    net = model_class.from_parameters(params, output=output, classes=classes, **overrides)
    if scaler is not None:
        net.scaler = scaler
        net.hp = net.hp.replace(preprocess=scaler.kind)
    return net


def _activation_name(m, nn):
    if m is None or isinstance(m, (nn.Linear, nn.Identity)):
        return "linear"
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    if isinstance(m, nn.LeakyReLU):
        if abs(m.negative_slope - 0.01) > 1e-12:
            raise InvalidParameterError(f"from_torch: deepstep's leaky_relu has slope 0.01; got {m!r}.")
        return "leaky_relu"
    if isinstance(m, nn.Softmax):
        if m.dim not in (1, -1):
            raise InvalidParameterError(f"from_torch: Softmax must be over dim=1 (the units); got {m!r}.")
        return "softmax"
    raise InvalidParameterError(f"from_torch: {m!r} is not a supported activation (ReLU, LeakyReLU(0.01), "
                                f"Tanh, Sigmoid, Softmax(dim=1)).")


def save_exported(model, path) -> str:
    """Write ``to_torch(model)`` as a ``torch.export`` program (``.pt2``, dynamic batch), atomically.

    ``torch.export.load(path).module()(X)`` runs it without deepstep.
    """
    import io
    import os

    from ..modelfile.writer import atomic_write_bytes

    torch = _require_torch()
    module = to_torch(model).eval()
    p = describe(model)
    example = torch.zeros(2, p.n_x, dtype=torch.float64 if p.dtype == np.float64 else torch.float32)
    program = torch.export.export(module, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buf = io.BytesIO()
    torch.export.save(program, buf)
    path = os.fspath(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
