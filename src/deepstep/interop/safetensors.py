"""The weights as safetensors, under the names of ``DeepNetwork.to_torch().state_dict()``.

``module.load_state_dict(safetensors.torch.load_file(path))`` loads them into
``net.to_torch()``; the file's metadata (``__metadata__``, strings) says what
the tensors mean: ``format`` = ``deepstep``, the layer sizes, activations,
output, input scaling and classes as JSON. Needs the ``safetensors`` package
(``pip install 'deepstep[onnx]'`` or ``'deepstep[torch]'``); not torch.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .predictor import describe, torch_layout


def state_dict(model) -> dict:
    """{name: array} as ``to_torch(model).state_dict()`` names them (W[l] as ``<i>.weight``)."""
    p = describe(model)
    out = {}
    for i, kind, detail in torch_layout(p):
        if kind == "scale":
            if detail == "divide255":
                out[f"{i}.shift"] = np.zeros(p.n_x, p.dtype)
                out[f"{i}.factor"] = np.full(p.n_x, 1 / 255.0, p.dtype)
            else:
                out[f"{i}.shift"], out[f"{i}.factor"] = p.shift, p.factor
        elif kind == "linear":
            out[f"{i}.weight"] = np.ascontiguousarray(p.weights[detail])
            out[f"{i}.bias"] = np.ascontiguousarray(p.biases[detail])
    return out


def save_safetensors(model, path) -> str:
    """Write the weights (and a description in the metadata) to ``path``, atomically."""
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ImportError("safetensors export needs the safetensors package: pip install safetensors") from None
    from ..modelfile.writer import atomic_write_bytes

    p = describe(model)
    meta = {"format": "deepstep", "layer_dims": json.dumps([p.n_x, *[w.shape[0] for w in p.weights]]),
            "activations": json.dumps(p.activations), "output": p.output, "preprocess": p.preprocess,
            "classes": json.dumps(None if p.classes is None else p.classes.tolist()),
            "layout": "rows: X (batch, n_x); <i>.weight is (n[l], n[l-1]) as torch.nn.Linear.weight"}
    path = os.fspath(path)
    atomic_write_bytes(path, save(state_dict(model), metadata=meta))
    return path
