"""The lesson's published test cases, through ``deepstep.steps``: the lesson's inputs
(drawn with ``np.random.seed``), the lesson's expected outputs to the printed digits.

Includes ``L_model_backward`` with AL drawn by ``randn`` (values outside (0, 1)):
the lesson's formula, unclipped, gives the published dA1.
"""

import numpy as np
import pytest

from deepstep import steps

ATOL = 5e-8    # the lesson prints 8 decimals


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


# --- the lesson's test-case inputs ----------------------------------------------------------
def linear_forward_test_case():
    np.random.seed(1)
    A = np.random.randn(3, 2)
    W = np.random.randn(1, 3)
    b = np.random.randn(1, 1)
    return A, W, b


def linear_activation_forward_test_case():
    np.random.seed(2)
    A_prev = np.random.randn(3, 2)
    W = np.random.randn(1, 3)
    b = np.random.randn(1, 1)
    return A_prev, W, b


def L_model_forward_test_case_2hidden():
    np.random.seed(6)
    X = np.random.randn(5, 4)
    W1, b1 = np.random.randn(4, 5), np.random.randn(4, 1)
    W2, b2 = np.random.randn(3, 4), np.random.randn(3, 1)
    W3, b3 = np.random.randn(1, 3), np.random.randn(1, 1)
    return X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}


def linear_backward_test_case():
    np.random.seed(1)
    dZ = np.random.randn(3, 4)
    A = np.random.randn(5, 4)
    W = np.random.randn(3, 5)
    b = np.random.randn(3, 1)
    return dZ, (A, W, b)


def linear_activation_backward_test_case():
    np.random.seed(2)
    dA = np.random.randn(1, 2)
    A = np.random.randn(3, 2)
    W = np.random.randn(1, 3)
    b = np.random.randn(1, 1)
    Z = np.random.randn(1, 2)
    return dA, ((A, W, b), Z)


def L_model_backward_test_case():
    np.random.seed(3)
    AL = np.random.randn(1, 2)
    Y = np.array([[1, 0]])
    A1, W1, b1 = np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1)
    Z1 = np.random.randn(3, 2)
    A2, W2, b2 = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    Z2 = np.random.randn(1, 2)
    return AL, Y, (((A1, W1, b1), Z1), ((A2, W2, b2), Z2))


def update_parameters_test_case():
    np.random.seed(2)
    W1, b1, W2, b2 = np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(1, 3), np.random.randn(1, 1)
    np.random.seed(3)
    dW1, db1, dW2, db2 = np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(1, 3), np.random.randn(1, 1)
    return ({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2})


# --- the published outputs ------------------------------------------------------------------
def test_initialize_parameters():
    np.random.seed(1)
    p = steps.initialize_parameters(3, 2, 1)
    close(p["W1"], [[0.01624345, -0.00611756, -0.00528172], [-0.01072969, 0.00865408, -0.02301539]])
    close(p["b1"], [[0.0], [0.0]])
    close(p["W2"], [[0.01744812, -0.00761207]])
    close(p["b2"], [[0.0]])


def test_initialize_parameters_deep():
    np.random.seed(3)
    p = steps.initialize_parameters_deep([5, 4, 3])
    close(p["W1"], [[0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
                    [-0.00354759, -0.00082741, -0.00627001, -0.00043818, -0.00477218],
                    [-0.01313865, 0.00884622, 0.00881318, 0.01709573, 0.00050034],
                    [-0.00404677, -0.0054536, -0.01546477, 0.00982367, -0.01101068]])
    close(p["W2"], [[-0.01185047, -0.0020565, 0.01486148, 0.00236716],
                    [-0.01023785, -0.00712993, 0.00625245, -0.00160513],
                    [-0.00768836, -0.00230031, 0.00745056, 0.01976111]])
    assert p["b1"].shape == (4, 1) and p["b2"].shape == (3, 1) and not p["b1"].any() and not p["b2"].any()


def test_linear_forward():
    Z, cache = steps.linear_forward(*linear_forward_test_case())
    close(Z, [[3.26295337, -1.23429987]])
    assert len(cache) == 3


def test_linear_activation_forward():
    A_prev, W, b = linear_activation_forward_test_case()
    A, _ = steps.linear_activation_forward(A_prev, W, b, activation="sigmoid")
    close(A, [[0.96890023, 0.11013289]])
    A, _ = steps.linear_activation_forward(A_prev, W, b, activation="relu")
    close(A, [[3.43896131, 0.0]])


def test_L_model_forward():
    X, parameters = L_model_forward_test_case_2hidden()
    AL, caches = steps.L_model_forward(X, parameters)
    close(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])
    assert len(caches) == 3


def test_compute_cost():
    Y, AL = np.asarray([[1, 1, 0]]), np.array([[0.8, 0.9, 0.4]])
    assert float(steps.compute_cost(AL, Y)) == pytest.approx(0.2797765635793422, abs=1e-15)


def test_linear_backward():
    dA_prev, dW, db = steps.linear_backward(*linear_backward_test_case())
    close(dA_prev, [[-1.15171336, 0.06718465, -0.3204696, 2.09812712],
                    [0.60345879, -3.72508701, 5.81700741, -3.84326836],
                    [-0.4319552, -1.30987417, 1.72354705, 0.05070578],
                    [-0.38981415, 0.60811244, -1.25938424, 1.47191593],
                    [-2.52214926, 2.67882552, -0.67947465, 1.48119548]])
    close(dW, [[0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716],
               [0.85508818, 0.37530413, -0.59912655, 0.71278189, -0.58931808],
               [0.97913304, -0.24376494, -0.08839671, 0.55151192, -0.10290907]])
    close(db, [[-0.14713786], [-0.11313155], [-0.13209101]])


def test_linear_backward_earlier_case():
    # The lesson's earlier test case: dZ (1, 2), A (3, 2), W (1, 3), b (1, 1) from np.random.seed(1).
    np.random.seed(1)
    dZ, A, W, b = np.random.randn(1, 2), np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    dA_prev, dW, db = steps.linear_backward(dZ, (A, W, b))
    close(dA_prev, [[0.51822968, -0.19517421], [-0.40506361, 0.15255393], [2.37496825, -0.89445391]])
    close(dW, [[-0.10076895, 1.40685096, 1.64992505]])
    close(db, [[0.50629448]])


def test_linear_activation_backward():
    dA, cache = linear_activation_backward_test_case()
    dA_prev, dW, db = steps.linear_activation_backward(dA, cache, activation="sigmoid")
    close(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723], [-0.05743092, -0.00576154]])
    close(dW, [[0.10266786, 0.09778551, -0.01968084]])
    close(db, [[-0.05729622]])
    dA_prev, dW, db = steps.linear_activation_backward(dA, cache, activation="relu")
    close(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]])
    close(dW, [[0.44513824, 0.37371418, -0.10478989]])
    close(db, [[-0.20837892]])


def test_L_model_backward_with_AL_outside_0_1():
    AL, Y, caches = L_model_backward_test_case()
    assert AL.max() > 1                           # the lesson draws AL with randn
    grads = steps.L_model_backward(AL, Y, caches)
    close(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167],
                         [0.0, 0.0, 0.0, 0.0],
                         [0.05283652, 0.01005865, 0.01777766, 0.0135308]])
    close(grads["db1"], [[-0.22007063], [0.0], [-0.02835349]])
    close(grads["dA1"], [[0.12913162, -0.44014127], [-0.14175655, 0.48317296], [0.01663708, -0.05670698]])
    # dAL is the lesson's -(Y/AL - (1-Y)/(1-AL)), not the clipped one.
    dAL = -(Y / AL - (1 - Y) / (1 - AL))
    want = steps.linear_activation_backward(dAL, caches[1], "sigmoid")
    np.testing.assert_array_equal(grads["dA1"], want[0])


def test_update_parameters():
    parameters, grads = update_parameters_test_case()
    p = steps.update_parameters(parameters, grads, 0.1)
    close(p["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008],
                    [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                    [-1.0535704, -0.86128581, 0.68284052, 2.20374577]])
    close(p["b1"], [[-0.04659241], [-1.28888275], [0.53405496]])
    close(p["W2"], [[-0.55569196, 0.0354055, 1.32964895]])
    close(p["b2"], [[-0.84610769]])


# --- the application's helpers --------------------------------------------------------------
def test_predict_lesson_form_prints_accuracy(capsys):
    p = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    X = np.array([[-2.0, -1.0, 1.0, 3.0]])
    y = np.array([[0, 1, 1, 1]])
    pred = steps.predict(X, y, p)
    np.testing.assert_array_equal(pred, [[0, 0, 1, 1]])
    assert capsys.readouterr().out.strip() == "Accuracy: 0.75"
    np.testing.assert_array_equal(steps.predict(X, p), pred)       # two-argument form, silent
    assert capsys.readouterr().out == ""


def test_L_layer_model_prints_as_the_lesson(capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 8))
    Y = (X[0:1] > 0).astype(float)
    np.random.seed(1)
    _, costs = steps.L_layer_model(X, Y, [3, 4, 1], learning_rate=0.1, num_iterations=201, print_cost=True)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [f"Cost after iteration {i}" for i in (0, 100, 200)]
    assert [float(ln.split(": ")[1]) for ln in lines] == costs
    steps.L_layer_model(X, Y, [3, 4, 1], num_iterations=3)
    assert capsys.readouterr().out == ""


def test_load_data_and_print_mislabeled_images(cat_files, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    train_x_orig, train_y, test_x_orig, test_y, classes = steps.load_data(cat_files[0].parent)
    assert train_x_orig.shape == (209, 64, 64, 3) and train_y.shape == (1, 209)
    assert test_x_orig.shape == (50, 64, 64, 3) and test_y.shape == (1, 50)
    assert [c.decode() for c in classes] == ["non-cat", "cat"]
    test_x = test_x_orig.reshape(test_x_orig.shape[0], -1).T / 255.0
    p = test_y.copy().astype(float)
    p[0, :3] = 1 - p[0, :3]                       # three wrong predictions
    fig = steps.print_mislabeled_images(classes, test_x, test_y, p)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith("Prediction: " + classes[int(p[0, 0])].decode())
    assert steps.print_mislabeled_images(classes, test_x, test_y, test_y) is None


def test_load_data_missing_folder_is_one_clear_line(tmp_path):
    from deepstep import DataError

    with pytest.raises(DataError, match="train_catvnoncat.h5 not found"):
        steps.load_data(tmp_path)
