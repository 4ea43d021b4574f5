"""``DeepNetwork.to_onnx``: the whole predictor as an ONNX graph, built with the ``onnx`` package's helpers.

Inputs and outputs (the batch axis is dynamic, named ``batch``):

=================  ===========================  ============================================
``X``              (batch, n_x), model dtype    raw inputs, examples as rows
``probabilities``  (batch, n_y)                 classification: A[L], as ``predict_proba``
                                                gives (transposed)
``label``          (batch,) or (batch, n_y)     classification: ``predict``'s labels (the
                                                classes), or 0/1 columns for one-hot and
                                                multilabel targets
``predictions``    (batch, n_y)                 regression: A[L]
=================  ===========================  ============================================

The graph is Sub/Mul (or Div by 255) for the input scaling, one Gemm per
layer (W[l] is stored as is, ``transB=1``), and Relu, LeakyRelu(0.01), Tanh,
Sigmoid or Softmax(axis=1). Opset 17. Needs ``pip install deepstep[onnx]``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .predictor import describe

OPSET = 17


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'deepstep[onnx]'") from None
    return onnx


def emit_predictor(p, x, out, const, node):
    """Add the predictor's nodes: input tensor ``x`` (batch, n_x) in p's dtype -> ``out`` = A[L].

    ``const(name, array)`` adds an initializer and returns its name;
    ``node(op_type, inputs, outputs, **attrs)`` adds a node. Intermediate names
    are ``const``'s and ``node``'s business (``fresh``, below, numbers them).
    Shared by :func:`to_onnx_model` and the skl2onnx converters.
    """
    from ..activations import LEAKY_SLOPE

    if p.preprocess == "divide255":
        node("Div", [x, const("scale_255", np.array(255.0, p.dtype))], ["X_scaled"])
        x = "X_scaled"
    elif p.preprocess != "none":
        node("Sub", [x, const("scale_shift", p.shift)], ["X_centered"])
        node("Mul", ["X_centered", const("scale_factor", p.factor)], ["X_scaled"])
        x = "X_scaled"
    L = len(p.weights)
    for l in range(1, L + 1):
        W, b = const(f"W{l}", p.weights[l - 1]), const(f"b{l}", p.biases[l - 1])
        z = f"Z{l}"
        node("Gemm", [x, W, b], [z], transB=1)
        act = p.activations[l - 1]
        a = f"A{l}" if l < L else out
        if act == "linear":
            node("Identity", [z], [a])
        elif act == "leaky_relu":
            node("LeakyRelu", [z], [a], alpha=LEAKY_SLOPE)
        elif act == "softmax":
            node("Softmax", [z], [a], axis=1)
        else:
            node({"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}[act], [z], [a])
        x = a
    return out


def classes_tensor(p, TensorProto):
    """(classes as an array ONNX can hold, its element type)."""
    classes = p.classes
    if classes.dtype.kind in "US":
        return classes.astype(object), TensorProto.STRING
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64), TensorProto.INT64
    if classes.dtype.kind == "f":
        return classes.astype(np.float64), TensorProto.DOUBLE
    from ..errors import InvalidParameterError

    raise InvalidParameterError(f"Cannot export classes of dtype {classes.dtype} to ONNX.")


def to_onnx_model(model, name="deepstep"):
    """The ``onnx.ModelProto`` of a trained DeepNetwork (checked with ``onnx.checker``)."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from .. import __version__

    p = describe(model)
    elem = TensorProto.DOUBLE if p.dtype == np.float64 else TensorProto.FLOAT
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, outputs, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{len(nodes)}", **attrs))

    x = emit_predictor(p, "X", "predictions" if p.output == "linear" else "probabilities", const, node)
    outputs = [helper.make_tensor_value_info(x, elem, ["batch", p.n_y])]
    if p.output != "linear":
        outputs.append(_label_nodes(p, x, node, const, helper, TensorProto))
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("X", elem, ["batch", p.n_x])], outputs, inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="deepstep", producer_version=__version__)
    onnx_model.ir_version = 8
    onnx_model.doc_string = (f"deepstep DeepNetwork {[p.n_x, *[w.shape[0] for w in p.weights]]}, "
                             f"activations {p.activations}; X is (batch, n_x), examples as rows.")
    meta = {"output": p.output, "preprocess": p.preprocess, "activations": json.dumps(p.activations),
            "classes": json.dumps(None if p.classes is None else p.classes.tolist()),
            "feature_names": json.dumps(p.feature_names)}
    helper.set_model_props(onnx_model, meta)
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _label_nodes(p, probs, node, const, helper, TensorProto):
    """Nodes computing ``label`` from the probabilities, as ``TargetEncoder.decode`` does."""
    if p.mode == "matrix":
        if p.output == "sigmoid":                      # multilabel: 0/1 per column
            node("Greater", [probs, const("half", np.array(0.5, p.dtype))], ["above"])
            node("Cast", ["above"], ["label"], to=TensorProto.INT64)
        else:                                          # one-hot of the argmax
            node("ArgMax", [probs], ["index"], axis=1, keepdims=0)
            node("OneHot", ["index", const("depth", np.array(p.n_y, np.int64)),
                            const("off_on", np.array([0, 1], np.int64))], ["label"], axis=-1)
        return helper.make_tensor_value_info("label", TensorProto.INT64, ["batch", p.n_y])
    if p.output == "sigmoid":
        node("Greater", [probs, const("half", np.array(0.5, p.dtype))], ["above"])
        node("Cast", ["above"], ["index2d"], to=TensorProto.INT64)
        node("Reshape", ["index2d", const("flat", np.array([-1], np.int64))], ["index"])
    else:
        node("ArgMax", [probs], ["index"], axis=1, keepdims=0)
    classes, elem = classes_tensor(p, TensorProto)
    node("Gather", [const("classes", classes), "index"], ["label"], axis=0)
    return helper.make_tensor_value_info("label", elem, ["batch"])


def to_onnx(model, path) -> str:
    """Write the model's predictor to ``path`` as ONNX (atomically); returns the path."""
    from ..modelfile.writer import atomic_write_bytes

    path = os.fspath(path)
    atomic_write_bytes(path, to_onnx_model(model).SerializeToString())
    return path
