"""skl2onnx converters for :class:`~deepstep.sklearn.DeepClassifier` and :class:`~deepstep.sklearn.DeepRegressor`.

Importing this module registers them (``skl2onnx.update_registered_converter``),
so that ``skl2onnx.to_onnx(estimator, X[:1])`` converts a fitted estimator, alone
or inside a Pipeline::

    import deepstep.interop.sklearn_onnx          # registers the converters
    from skl2onnx import to_onnx
    onx = to_onnx(clf, X[:1].astype("float32"), options={"zipmap": False})

They follow skl2onnx's conventions: a classifier has outputs ``label`` (the
classes) and ``probabilities`` of shape (batch, n_classes), two columns for
binary models as ``predict_proba`` returns them (skl2onnx adds its ZipMap
unless ``zipmap=False``); a regressor has ``variable`` (batch, n_outputs). The
input is float32 as skl2onnx gives it; a float64 network computes in float64 and
casts its outputs back. Multilabel classifiers are refused (skl2onnx has no
output convention for them): export ``clf.network_.to_onnx(path)`` instead.
Needs ``pip install skl2onnx`` (and the ``onnx`` extra).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from .onnx import OPSET, classes_tensor, emit_predictor
from .predictor import describe


def _emitter(scope, container, inputs_outputs):
    """``const`` and ``node`` for :func:`emit_predictor` that give every intermediate a unique name."""
    from onnx import numpy_helper

    names = dict(inputs_outputs)

    def name(n):
        if n not in names:
            names[n] = scope.get_unique_variable_name(n)
        return names[n]

    def const(n, array):
        t = numpy_helper.from_array(np.asarray(array), name(n))
        container.initializers.append(t)
        return names[n]

    def node(op, inputs, outputs, **attrs):
        container.add_node(op, [names[i] for i in inputs], [name(o) for o in outputs],
                           name=scope.get_unique_operator_name(f"deepstep_{op}"), op_version=OPSET, **attrs)

    return const, node


def _input(p, node, TensorProto):
    """The input as the network's dtype: skl2onnx hands float32."""
    if p.dtype == np.float64:
        node("Cast", ["X_in"], ["X64"], to=TensorProto.DOUBLE)
        return "X64"
    return "X_in"


def _output(p, node, a, final, TensorProto):
    if p.dtype == np.float64:
        node("Cast", [a], [final], to=TensorProto.FLOAT)
    else:
        node("Identity", [a], [final])


def convert_classifier(scope, operator, container):
    from onnx import TensorProto

    est = operator.raw_operator
    p = describe(est.network_)
    if p.mode != "labels":
        raise InvalidParameterError("skl2onnx has no output convention for multilabel targets; export "
                                    "clf.network_.to_onnx(path) (outputs probabilities and label) instead.")
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name
    const, node = _emitter(scope, container, {"X_in": operator.inputs[0].full_name, "LABEL": label_out,
                                              "PROBA": proba_out})
    x = _input(p, node, TensorProto)
    a = emit_predictor(p, x, "AL", const, node)
    if p.output == "sigmoid":                           # binary: [1 - p, p], as predict_proba
        node("Sub", [const("one", np.array(1.0, p.dtype)), a], ["AL0"])
        node("Concat", ["AL0", a], ["AL2"], axis=1)
        a = "AL2"
    _output(p, node, a, "PROBA", TensorProto)
    node("ArgMax", [a], ["index"], axis=1, keepdims=0)
    classes, _ = classes_tensor(p, TensorProto)
    node("Gather", [const("classes", classes), "index"], ["LABEL"], axis=0)


def convert_regressor(scope, operator, container):
    from onnx import TensorProto

    p = describe(operator.raw_operator.network_)
    const, node = _emitter(scope, container, {"X_in": operator.inputs[0].full_name,
                                              "OUT": operator.outputs[0].full_name})
    x = _input(p, node, TensorProto)
    a = emit_predictor(p, x, "AL", const, node)
    _output(p, node, a, "OUT", TensorProto)


def _regressor_shapes(operator):
    from skl2onnx.common.data_types import FloatTensorType

    n_out = operator.raw_operator.network_.layer_dims[-1]
    operator.outputs[0].type = FloatTensorType([None, n_out])


def register():
    """Register the converters with skl2onnx (done on import of this module)."""
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    except ImportError:
        raise ImportError("The skl2onnx converters need skl2onnx: pip install skl2onnx") from None
    from ..sklearn import DeepClassifier, DeepRegressor

    update_registered_converter(DeepClassifier, "DeepstepDeepClassifier", calculate_linear_classifier_output_shapes,
                                convert_classifier, options={"zipmap": [True, False, "columns"], "nocl": [False]})
    update_registered_converter(DeepRegressor, "DeepstepDeepRegressor", _regressor_shapes, convert_regressor)


register()
