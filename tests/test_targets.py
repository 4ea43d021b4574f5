"""TargetEncoder: which output layer the targets imply, encoding to rows and decoding back, files."""

import json

import numpy as np
import pytest

from deepstep import DataError
from deepstep.targets import TargetEncoder


# --- inference -----------------------------------------------------------------------------------
@pytest.mark.parametrize("y,output,mode,n_out,classes", [
    pytest.param([0, 1, 1, 0], "sigmoid", "labels", 1, [0, 1], id="binary-ints"),
    pytest.param([[0, 1, 1, 0]], "sigmoid", "labels", 1, [0, 1], id="binary-row-(1,m)"),
    pytest.param([3, 7, 7, 3], "sigmoid", "labels", 1, [3, 7], id="two-classes-any-values"),
    pytest.param([2, 9, 5, 5, 2], "softmax", "labels", 3, [2, 5, 9], id="three-classes"),
    pytest.param(["b", "a", "c", "a"], "softmax", "labels", 3, ["a", "b", "c"], id="strings"),
    pytest.param([True, False, True], "sigmoid", "labels", 1, [False, True], id="bools"),
    pytest.param([0.0, 1.0, 2.0, 1.0], "softmax", "labels", 3, [0.0, 1.0, 2.0], id="integer-valued-floats"),
    pytest.param([1.0, 0.0, 0.0], "sigmoid", "labels", 1, [0.0, 1.0], id="integer-valued-floats-binary"),
    pytest.param([0.5, 1.25, 3.0], "linear", "matrix", 1, None, id="floats-with-fractions"),
])
def test_infer_from_labels(y, output, mode, n_out, classes):
    enc = TargetEncoder.infer(np.array(y))
    assert (enc.output, enc.mode, enc.n_outputs) == (output, mode, n_out)
    if classes is None:
        assert enc.classes is None
    else:
        assert enc.classes.tolist() == classes


@pytest.mark.parametrize("Y,output", [
    pytest.param([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]], "softmax", id="one-hot"),
    pytest.param([[1, 0, 1, 1], [0, 1, 1, 0], [0, 0, 1, 0]], "sigmoid", id="multilabel-0/1"),
    pytest.param([[1, 0, 0, 0], [0, 0, 0, 1]], "sigmoid", id="0/1-columns-summing-to-0"),
    pytest.param([[0.3, 1.5, -2.0], [4.0, 0.0, 1.0]], "linear", id="real-matrix"),
    pytest.param([[0.25, 0.5], [0.75, 0.5]], "linear", id="probabilities-are-real-targets-on-auto"),
])
def test_infer_from_matrix(Y, output):
    Y = np.array(Y)
    enc = TargetEncoder.infer(Y)
    assert (enc.output, enc.mode, enc.n_outputs, enc.classes) == (output, "matrix", Y.shape[0], None)


def test_explicit_outputs():
    assert TargetEncoder.infer(np.array([0, 1, 2]), "linear").output == "linear"
    # A sigmoid on labels that are all 1 is still the two classes {0, 1}.
    enc = TargetEncoder.infer(np.array([1, 1, 1]), "sigmoid")
    assert enc.classes.tolist() == [0, 1]
    assert TargetEncoder.infer(np.array([0, 1, 1]), "softmax").n_outputs == 2
    with pytest.raises(DataError, match="sigmoid output produces 2 classes.*3"):
        TargetEncoder.infer(np.array([0, 1, 2]), "sigmoid")
    with pytest.raises(DataError, match="numeric"):
        TargetEncoder.infer(np.array(["a", "b"]), "linear")


@pytest.mark.parametrize("y,shown", [([4, 4, 4], "4"), (["cat", "cat"], "'cat'"), ([2.0, 2.0], "2.0")])
def test_single_class_is_an_error(y, shown):
    with pytest.raises(DataError, match=f"single class \\({shown}\\).*at least two"):
        TargetEncoder.infer(np.array(y))


@pytest.mark.parametrize("Y", [np.zeros((2, 3, 4)), np.array([[0.0, np.nan], [1.0, 0.0]]), np.array([0.5, np.inf])])
def test_bad_shapes_and_non_finite_values(Y):
    with pytest.raises(DataError):
        TargetEncoder.infer(Y)


# --- encode / decode ---------------------------------------------------------------------------------
@pytest.mark.parametrize("y", [
    pytest.param(np.array([1, 0, 0, 1, 1]), id="int-binary"),
    pytest.param(np.array([5, -1, 3, 3, 5, 7]), id="int-4-classes"),
    pytest.param(np.array(["dog", "cat", "eel", "cat"]), id="strings"),
    pytest.param(np.array(["yes", "no", "no"]), id="strings-binary"),
    pytest.param(np.array([True, False, False, True]), id="bools"),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_encode_rows_then_decode_round_trip(y, dtype):
    enc = TargetEncoder.infer(y)
    rows = enc.encode_rows(y, dtype)
    classes = sorted(set(y.tolist()))
    assert rows.dtype == dtype and rows.flags.c_contiguous
    if len(classes) == 2:
        assert rows.shape == (len(y), 1)
        expected = [[float(v == classes[1])] for v in y.tolist()]     # the larger class is 1
    else:
        assert rows.shape == (len(y), len(classes))
        expected = [[float(v == c) for c in classes] for v in y.tolist()]
    np.testing.assert_array_equal(rows, expected)
    back = enc.decode(rows.T)
    assert back.shape == (1, len(y))
    assert back.ravel().tolist() == y.tolist()
    assert back.dtype == y.dtype


def test_decode_thresholds_and_argmax():
    enc = TargetEncoder.infer(np.array(["no", "yes"]))
    assert enc.decode(np.array([[0.2, 0.5, 0.51, 0.99]])).tolist() == [["no", "no", "yes", "yes"]]
    enc3 = TargetEncoder.infer(np.array([10, 20, 30]))
    AL = np.array([[0.1, 0.6, 0.3], [0.7, 0.3, 0.3], [0.2, 0.1, 0.4]])
    assert enc3.decode(AL).tolist() == [[20, 10, 30]]


def test_matrix_targets_encode_and_decode():
    Y = np.array([[1, 0, 1, 1], [0, 1, 1, 0]])
    multi = TargetEncoder.infer(Y)
    rows = multi.encode_rows(Y, np.float32)
    assert rows.dtype == np.float32 and rows.flags.c_contiguous
    np.testing.assert_array_equal(rows, Y.T)
    np.testing.assert_array_equal(multi.decode(np.array([[0.9, 0.1], [0.5, 0.51]])), [[1, 0], [0, 1]])

    onehot = TargetEncoder.infer(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))
    np.testing.assert_array_equal(onehot.decode(np.array([[0.2, 0.5], [0.7, 0.1], [0.1, 0.4]])),
                                  [[0, 1], [1, 0], [0, 0]])

    y = np.array([0.5, 1.5, 2.25])
    reg = TargetEncoder.infer(y)               # regression targets are standardized inside the model
    np.testing.assert_allclose(reg.encode_rows(y, np.float64), ((y - y.mean()) / y.std())[:, None])
    np.testing.assert_allclose(reg.restore(reg.encode_rows(y, np.float64).T), [y])
    AL = np.array([[3.5, -1.0]])
    assert reg.decode(AL) is AL
    with pytest.raises(DataError, match="Y has 2 rows but the model has 1 outputs"):
        reg.encode_rows(np.ones((2, 3)), np.float64)
    with pytest.raises(DataError, match="NaN"):
        reg.encode_rows(np.array([1.0, np.nan]), np.float64)


@pytest.mark.parametrize("train,new,named", [
    (["cat", "dog"], ["cat", "fox", "emu", "fox"], ["'emu'", "'fox'"]),
    ([0, 1, 2], [1, 3, -1], ["-1", "3"]),                        # above the last and below the first class
    ([1, 2, 3], [2, 2.5], ["2.5"]),
])
def test_unknown_labels_at_encode_are_named(train, new, named):
    enc = TargetEncoder.infer(np.array(train))
    with pytest.raises(DataError, match="not among the classes") as info:
        enc.encode_rows(np.array(new), np.float32)
    # Exactly the unknown labels, sorted and each once; then the known classes.
    assert str(info.value).startswith(f"Labels [{', '.join(named)}] are not among the classes")
    assert str(info.value).endswith(f"({[*train]!r}).".replace('"', "'"))


# --- files ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("Y", [
    np.array([1, 0, 1]),
    np.array(["b", "a", "c"]),
    np.array([True, False]),
    np.array([0.0, 2.0, 1.0]),
    np.array([0.5, 1.5]),
    np.array([[1, 0], [0, 1], [1, 1]]),
])
def test_to_dict_from_dict_round_trip(Y):
    enc = TargetEncoder.infer(Y)
    d = json.loads(json.dumps(enc.to_dict()))               # what the model file stores
    back = TargetEncoder.from_dict(d)
    assert (back.output, back.mode, back.n_outputs) == (enc.output, enc.mode, enc.n_outputs)
    if enc.classes is None:
        assert back.classes is None
    else:
        assert back.classes.tolist() == enc.classes.tolist()
        assert back.classes.dtype.kind == enc.classes.dtype.kind
    np.testing.assert_array_equal(back.encode_rows(Y, np.float64), enc.encode_rows(Y, np.float64))
    AL = enc.encode_rows(Y, np.float64).T
    np.testing.assert_array_equal(back.decode(AL), enc.decode(AL))
