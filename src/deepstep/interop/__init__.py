"""Models out of (and into) deepstep: ONNX, PyTorch and safetensors.

Every exporter works from one description of the whole predictor,
:func:`predictor.describe` (input scaling, each layer's W and b, the
activations, the classes), taken through DeepNetwork's public interface. The
exported model takes examples as rows, ``X`` of shape (batch, n_x) — the
layout of ONNX, PyTorch and scikit-learn — whereas DeepNetwork takes (n_x, m).

* :func:`onnx.to_onnx` (``DeepNetwork.to_onnx``): needs ``pip install deepstep[onnx]``.
* :func:`torch.to_torch`, :func:`torch.from_torch` (``DeepNetwork.to_torch``,
  ``DeepNetwork.from_torch``): needs ``pip install deepstep[torch]``.
* :func:`safetensors.save_safetensors`: the weights under the names of
  ``to_torch().state_dict()``; needs the ``safetensors`` package (in both extras).
* :mod:`sklearn_onnx`: importing it registers skl2onnx converters for the
  scikit-learn estimators (needs ``skl2onnx``).

Nothing here is imported by ``import deepstep``.
"""
