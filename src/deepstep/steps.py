"""The lesson's deep network, step by step: its functions, names, shapes and caches.

The lesson is deeplearning.ai's "Building your Deep Neural Network: Step by
Step" (Course 1, Week 4), with its application (the cat classifier) and the
hyperparameter steps of its sequel ("Improving Deep Neural Networks").

Read this module alongside the lesson. Every function keeps the lesson's
signature, returns and caches, works in float64, never mutates its inputs, and
draws random numbers from NumPy's global generator exactly as the lesson does,
so ``np.random.seed(1)`` before a call reproduces the published numbers.

The functions compute the lesson's formulas exactly, clipping nowhere: the
lesson's own test cases (``L_model_backward`` with AL drawn by ``randn``,
outside (0, 1)) give the published numbers, and a saturated output gives the
lesson's ``inf`` or ``nan`` cost, as it does in the lesson. The model's engine
(:class:`deepstep.DeepNetwork`) keeps its safe path instead: the fused output
gradient ``dZ[L] = AL - Y`` and a cost clipped at the dtype's eps.

Where the lesson's formula and the engine's coincide, each step calls the same
kernel the engine uses (:mod:`deepstep.activations`, :mod:`deepstep.linear`,
:mod:`deepstep.optimizers`, :mod:`deepstep.regularization`), so what a learner
checks here is what the model runs.

Notation (the lesson's): X = A[0] has shape (n[0], m), one example per column;
W[l] has shape (n[l], n[l-1]); b[l] has shape (n[l], 1); Z[l], A[l], dZ[l] and
dA[l] have shape (n[l], m).

Caches:
    linear cache      (A_prev, W, b)
    activation cache  Z
    layer cache       (linear_cache, activation_cache)
    caches            [layer cache of layer 1, ..., layer cache of layer L]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import activations as _act
from . import linear as _lin

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "sigmoid", "relu",
    "linear_activation_forward", "L_model_forward", "compute_cost", "relu_backward",
    "sigmoid_backward", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "predict", "two_layer_model", "L_layer_model",
    # the lesson's application (the cat classifier)
    "load_data", "print_mislabeled_images",
    # the lesson's hyperparameters, step by step
    "initialize_parameters_zeros", "initialize_parameters_random", "initialize_parameters_he",
    "random_mini_batches", "update_parameters_with_gd", "initialize_velocity",
    "update_parameters_with_momentum", "initialize_adam", "update_parameters_with_adam",
    "update_lr", "schedule_lr_decay", "compute_cost_with_regularization",
    "L_model_forward_with_dropout", "L_model_backward_with_dropout",
    "L_model_backward_with_regularization", "gradient_check",
]


# --- initialization ---------------------------------------------------------------
def initialize_parameters(n_x, n_h, n_y):
    """Initialize the parameters of a 2-layer network, LINEAR -> RELU -> LINEAR -> SIGMOID.

    W1 = randn(n_h, n_x) * 0.01, b1 = 0, W2 = randn(n_y, n_h) * 0.01, b2 = 0,
    drawn in that order from NumPy's global generator.

    Arguments:
    n_x -- size of the input layer
    n_h -- size of the hidden layer
    n_y -- size of the output layer

    Returns:
    parameters -- python dictionary containing your parameters:
                    W1 -- weight matrix of shape (n_h, n_x)
                    b1 -- bias vector of shape (n_h, 1)
                    W2 -- weight matrix of shape (n_y, n_h)
                    b2 -- bias vector of shape (n_y, 1)
    """
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims):
    """Initialize the parameters of an L-layer network.

    For l = 1 .. L: W[l] = randn(n[l], n[l-1]) * 0.01, b[l] = 0, drawn in
    that order from NumPy's global generator.

    Arguments:
    layer_dims -- python array (list) containing the dimensions of each layer in our network
                  [n[0], n[1], ..., n[L]]

    Returns:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL":
                    Wl -- weight matrix of shape (layer_dims[l], layer_dims[l-1])
                    bl -- bias vector of shape (layer_dims[l], 1)
    """
    return _init_deep(layer_dims, "random")


def _init_deep(layer_dims, name):
    from .initializers import DETERMINISTIC, get_initializer

    scale = get_initializer(name)
    parameters = {}
    for l in range(1, len(layer_dims)):
        n_out, n_in = layer_dims[l], layer_dims[l - 1]
        N = np.zeros((n_out, n_in)) if name in DETERMINISTIC else np.random.randn(n_out, n_in)
        parameters["W" + str(l)] = scale(N, n_in, n_out)
        parameters["b" + str(l)] = np.zeros((n_out, 1))
    return parameters


# --- forward ------------------------------------------------------------------------
def linear_forward(A, W, b):
    """Implement the linear part of a layer's forward propagation: Z = W A + b.

    Arguments:
    A -- activations from previous layer (or input data): (size of previous layer, number of examples)
    W -- weights matrix: numpy array of shape (size of current layer, size of previous layer)
    b -- bias vector, numpy array of shape (size of the current layer, 1)

    Returns:
    Z -- the input of the activation function, also called pre-activation parameter,
         of shape (size of current layer, number of examples)
    cache -- a python tuple containing "A", "W" and "b": (A, W, b), the linear cache,
             stored for computing the backward pass efficiently
    """
    Z = _lin.linear_forward(A, W, b)
    return Z, (A, W, b)


def sigmoid(Z):
    """Implement the sigmoid activation: A = 1 / (1 + exp(-Z)).

    Arguments:
    Z -- numpy array of any shape

    Returns:
    A -- output of sigmoid(z), same shape as Z
    cache -- returns Z as well (the activation cache), useful during backpropagation
    """
    return _act.sigmoid_forward(Z), Z


def relu(Z):
    """Implement the RELU function: A = max(0, Z).

    Arguments:
    Z -- Output of the linear layer, of any shape

    Returns:
    A -- Post-activation parameter, of the same shape as Z
    cache -- Z (the activation cache); stored for computing the backward pass efficiently
    """
    return _act.relu_forward(Z), Z


def linear_activation_forward(A_prev, W, b, activation):
    """Implement the forward propagation for the LINEAR->ACTIVATION layer.

    Z = W A_prev + b,  A = g(Z) with g = sigmoid or relu.

    Arguments:
    A_prev -- activations from previous layer (or input data): (size of previous layer, number of examples)
    W -- weights matrix: numpy array of shape (size of current layer, size of previous layer)
    b -- bias vector, numpy array of shape (size of the current layer, 1)
    activation -- the activation to be used in this layer, stored as a text string: "sigmoid" or "relu"
                  (any activation registered in deepstep works too)

    Returns:
    A -- the output of the activation function, also called the post-activation value,
         of shape (size of current layer, number of examples)
    cache -- a python tuple containing "linear_cache" and "activation_cache":
             ((A_prev, W, b), Z); stored for computing the backward pass efficiently
    """
    Z, linear_cache = linear_forward(A_prev, W, b)
    A = _act.get_activation(activation).forward(Z)
    return A, (linear_cache, Z)


def L_model_forward(X, parameters):
    """Implement forward propagation for the [LINEAR->RELU]*(L-1)->LINEAR->SIGMOID computation.

    A[0] = X; for l = 1 .. L-1: A[l] = relu(W[l] A[l-1] + b[l]); AL = sigmoid(W[L] A[L-1] + b[L]),
    with L = len(parameters) // 2.

    Arguments:
    X -- data, numpy array of shape (input size, number of examples)
    parameters -- output of initialize_parameters_deep()

    Returns:
    AL -- last post-activation value, of shape (1, number of examples)
    caches -- list of caches containing every cache of linear_activation_forward()
              (there are L of them, indexed from 0 to L-1: caches[l-1] is layer l's
              ((A[l-1], W[l], b[l]), Z[l]))
    """
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    """Implement the cross-entropy cost.

    J = -1/m Σ_i (y(i) log a[L](i) + (1 - y(i)) log(1 - a[L](i))), exactly: no
    clipping, so an output saturated at 0 or 1 gives ``inf`` (or ``nan``), as
    in the lesson (NumPy's divide-by-zero warning is silenced: the value says it).

    Arguments:
    AL -- probability vector corresponding to your label predictions, shape (1, number of examples)
    Y -- true "label" vector (for example: containing 0 if non-cat, 1 if cat), shape (1, number of examples)

    Returns:
    cost -- cross-entropy cost, a 0-d numpy float (``np.squeeze`` of the sum)
    """
    Y = np.asarray(Y).reshape(np.shape(AL))
    m = Y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = -1 / m * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))
    return np.squeeze(cost)


# --- backward -----------------------------------------------------------------------
def relu_backward(dA, cache):
    """Implement the backward propagation for a single RELU unit: dZ = dA * g'(Z).

    dZ = dA where Z > 0 and 0 where Z <= 0.

    Arguments:
    dA -- post-activation gradient, of any shape
    cache -- 'Z' where we store for computing backward propagation efficiently

    Returns:
    dZ -- Gradient of the cost with respect to Z, same shape as Z
    """
    Z = cache
    return np.where(Z > 0, dA, 0.0)


def sigmoid_backward(dA, cache):
    """Implement the backward propagation for a single SIGMOID unit: dZ = dA * s (1 - s).

    s = 1 / (1 + exp(-Z)).

    Arguments:
    dA -- post-activation gradient, of any shape
    cache -- 'Z' where we store for computing backward propagation efficiently

    Returns:
    dZ -- Gradient of the cost with respect to Z, same shape as Z
    """
    Z = cache
    return _act.sigmoid_backward(dA, Z, _act.sigmoid_forward(Z))


def linear_backward(dZ, cache):
    """Implement the linear portion of backward propagation for a single layer (layer l).

    dW[l] = 1/m dZ[l] A[l-1]^T;  db[l] = 1/m Σ_i dZ[l](i) (keepdims);  dA[l-1] = W[l]^T dZ[l].

    Arguments:
    dZ -- Gradient of the cost with respect to the linear output (of current layer l),
          shape (n[l], m)
    cache -- tuple of values (A_prev, W, b) coming from the forward propagation in the current layer

    Returns:
    dA_prev -- Gradient of the cost with respect to the activation (of the previous layer l-1),
               same shape as A_prev (n[l-1], m)
    dW -- Gradient of the cost with respect to W (current layer l), same shape as W (n[l], n[l-1])
    db -- Gradient of the cost with respect to b (current layer l), same shape as b (n[l], 1)
    """
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dA_prev, dW_sum, db_sum = _lin.linear_backward(dZ, A_prev, W)
    dW = 1 / m * dW_sum
    db = 1 / m * db_sum
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    """Implement the backward propagation for the LINEAR->ACTIVATION layer.

    dZ = relu_backward(dA, Z) or sigmoid_backward(dA, Z), then linear_backward(dZ, linear_cache).

    Arguments:
    dA -- post-activation gradient for current layer l, shape (n[l], m)
    cache -- tuple of values (linear_cache, activation_cache) we store for computing backward
             propagation efficiently: ((A_prev, W, b), Z)
    activation -- the activation to be used in this layer, stored as a text string: "sigmoid" or "relu"
                  (any activation registered in deepstep works too)

    Returns:
    dA_prev -- Gradient of the cost with respect to the activation (of the previous layer l-1),
               same shape as A_prev
    dW -- Gradient of the cost with respect to W (current layer l), same shape as W
    db -- Gradient of the cost with respect to b (current layer l), same shape as b
    """
    linear_cache, activation_cache = cache
    Z = activation_cache
    if activation == "relu":
        dZ = relu_backward(dA, Z)
    elif activation == "sigmoid":
        dZ = sigmoid_backward(dA, Z)
    else:
        act = _act.get_activation(activation)
        dZ = act.backward(dA, Z, act.forward(Z))
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    """Implement the backward propagation for the [LINEAR->RELU] * (L-1) -> LINEAR -> SIGMOID group.

    dAL = -(Y / AL - (1 - Y) / (1 - AL)), the lesson's formula exactly (AL is not
    clipped, so AL outside (0, 1), as in the lesson's test case, gives the
    published numbers); then layer L backward through the sigmoid and layers
    L-1 .. 1 backward through the relu. The model's engine uses the fused
    dZ[L] = AL - Y instead.

    Arguments:
    AL -- probability vector, output of the forward propagation (L_model_forward()), shape (1, m)
    Y -- true "label" vector (containing 0 if non-cat, 1 if cat), shape (1, m)
    caches -- list of caches containing:
                every cache of linear_activation_forward() with "relu" (caches[l], for l in range(L-1)
                i.e l = 0...L-2)
                the cache of linear_activation_forward() with "sigmoid" (caches[L-1])

    Returns:
    grads -- A dictionary with the gradients
             grads["dA" + str(l)] = ...   (l = 0 .. L-1; dA[l] of shape (n[l], m))
             grads["dW" + str(l)] = ...   (l = 1 .. L; the shape of W[l])
             grads["db" + str(l)] = ...   (l = 1 .. L; the shape of b[l])
    """
    grads = {}
    L = len(caches)
    Y = np.asarray(Y).reshape(np.shape(AL))
    with np.errstate(divide="ignore", invalid="ignore"):     # AL at exactly 0 or 1: inf, as in the lesson
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = \
        linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu")
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


def update_parameters(parameters, grads, learning_rate):
    """Update parameters using gradient descent: W[l] = W[l] - α dW[l], b[l] = b[l] - α db[l].

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"
    grads -- python dictionary containing your gradients, output of L_model_backward
    learning_rate -- α, a float

    Returns:
    parameters -- python dictionary containing your updated parameters (a new dictionary:
                  the one passed in is not changed)
                  parameters["W" + str(l)] = ...
                  parameters["b" + str(l)] = ...
    """
    from .optimizers import gd_update

    L = len(parameters) // 2
    new = {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            value = np.array(parameters[p + str(l)], dtype=np.float64, copy=True)
            gd_update(value, grads["d" + p + str(l)], learning_rate)
            new[p + str(l)] = value
    return new


# --- the lesson's application: the cat classifier -----------------------------------
def predict(X, y, parameters=None):
    """Predict the results of an L-layer neural network: 1 where AL > 0.5, else 0.

    The lesson's form is ``predict(X, y, parameters)``: it prints the accuracy
    against the labels y, ``Accuracy: <fraction>``, and returns p. The
    two-argument form ``predict(X, parameters)`` prints nothing.

    Arguments:
    X -- data set of examples you would like to label, shape (n[0], m)
    y -- true labels, shape (1, m) (optional)
    parameters -- parameters of the trained model

    Returns:
    p -- predictions for the given dataset X, 0/1 floats of shape (1, m)
    """
    if parameters is None:
        parameters, y = y, None
    AL, _ = L_model_forward(X, parameters)
    p = (AL > 0.5).astype(np.float64)
    if y is not None:
        m = np.shape(X)[1]
        print("Accuracy: " + str(np.sum((p == np.asarray(y).reshape(p.shape)) / m)))
    return p


def load_data(data_dir="datasets"):
    """Load the lesson's cat / non-cat images from ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.

    Arguments:
    data_dir -- folder holding the two files (the lesson's ``datasets/``)

    Returns:
    train_set_x_orig -- uint8 images of shape (209, 64, 64, 3)
    train_set_y_orig -- labels of shape (1, 209), 1 for cat, 0 for non-cat
    test_set_x_orig -- uint8 images of shape (50, 64, 64, 3)
    test_set_y_orig -- labels of shape (1, 50)
    classes -- array of the class names as bytes, [b'non-cat', b'cat']

    Flatten and scale as the lesson does:
    ``train_x = train_set_x_orig.reshape(train_set_x_orig.shape[0], -1).T / 255.``
    """
    import h5py

    from .errors import DataError

    folder = Path(data_dir)
    out = []
    for split in ("train", "test"):
        path = folder / f"{split}_catvnoncat.h5"
        if not path.is_file():
            raise DataError(f"{path} not found: pass load_data() the folder that holds "
                            f"train_catvnoncat.h5 and test_catvnoncat.h5")
        try:
            with h5py.File(path, "r") as f:
                x = np.array(f[f"{split}_set_x"][:])
                y = np.array(f[f"{split}_set_y"][:])
                if split == "test":
                    classes = np.array(f["list_classes"][:])
        except (OSError, KeyError) as exc:
            raise DataError(f"{path} is not the lesson's cat file ({exc}); download it again") from None
        out += [x, y.reshape((1, y.shape[0]))]
    return out[0], out[1], out[2], out[3], classes


def print_mislabeled_images(classes, X, y, p):
    """Plot the images where the prediction and the truth differ (as the lesson does).

    Arguments:
    classes -- the class names from load_data(), [b'non-cat', b'cat']
    X -- dataset, flattened images of shape (12288, m) (scaled or not)
    y -- true labels, shape (1, m)
    p -- predictions, shape (1, m)

    Returns:
    fig -- the matplotlib figure, one 64x64 image per mislabeled example, titled
           "Prediction: ... / Class: ..."; None when nothing is mislabeled
    """
    import matplotlib.pyplot as plt

    y = np.asarray(y).reshape(1, -1)
    p = np.asarray(p).reshape(1, -1)
    a = p + y
    mislabeled_indices = np.asarray(np.where(a == 1))
    num_images = mislabeled_indices.shape[1]
    if num_images == 0:
        return None

    def name(c):
        c = classes[int(c)]
        return c.decode("utf-8") if isinstance(c, bytes) else str(c)

    fig = plt.figure(figsize=(2.0 * num_images, 2.6))
    for i in range(num_images):
        index = mislabeled_indices[1][i]
        ax = fig.add_subplot(1, num_images, i + 1)
        image = np.asarray(X)[:, index].reshape(64, 64, 3)
        ax.imshow(image if image.max() <= 1 else image.astype(np.uint8), interpolation="nearest")
        ax.axis("off")
        ax.set_title("Prediction: " + name(p[0, index]) + " \n Class: " + name(y[0, index]), fontsize=8)
    return fig


# --- the lesson's ready-made trainers -----------------------------------------------
def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """Implement a two-layer neural network: LINEAR->RELU->LINEAR->SIGMOID, batch gradient descent.

    Call ``np.random.seed(1)`` first to reproduce the published run.

    Arguments:
    X -- input data, of shape (n_x, number of examples)
    Y -- true "label" vector (containing 1 if cat, 0 if non-cat), of shape (1, number of examples)
    layers_dims -- dimensions of the layers (n_x, n_h, n_y)
    num_iterations -- number of iterations of the optimization loop
    learning_rate -- learning rate of the gradient descent update rule
    print_cost -- If set to True, this will print the cost every 100 iterations
                  ("Cost after iteration i: cost", and the last iteration)

    Returns:
    parameters -- a dictionary containing W1, W2, b1, and b2
    costs -- the cost at iterations 0, 100, 200, ...
    """
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y)
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """Implement a L-layer neural network: [LINEAR->RELU]*(L-1)->LINEAR->SIGMOID, batch gradient descent.

    Weights start at ``randn / sqrt(n[l-1])`` (``randn * 0.01`` stalls a 4-layer
    net; the lesson's application uses this scaling). Call ``np.random.seed(1)``
    first to reproduce the published run.

    Arguments:
    X -- data, numpy array of shape (num_px * num_px * 3, number of examples)
    Y -- true "label" vector (containing 0 if cat, 1 if non-cat), of shape (1, number of examples)
    layers_dims -- list containing the input size and each layer size, of length (number of layers + 1).
    learning_rate -- learning rate of the gradient descent update rule
    num_iterations -- number of iterations of the optimization loop
    print_cost -- if True, it prints the cost every 100 steps
                  ("Cost after iteration i: cost", and the last iteration)

    Returns:
    parameters -- parameters learnt by the model. They can then be used to predict.
    costs -- the cost at iterations 0, 100, 200, ...
    """
    parameters = _init_deep(layers_dims, "scaled")
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost):
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        if print_cost and (i % 100 == 0 or i == num_iterations - 1):
            print(f"Cost after iteration {i}: {np.squeeze(cost)}", flush=True)
        if i % 100 == 0:
            costs.append(float(cost))
    return parameters, costs


# =====================================================================================
# The lesson's hyperparameters, step by step: initialization, mini-batches, optimizers,
# learning-rate decay, regularization and the gradient check. Same conventions as
# above: L-layer dicts {"W1", "b1", ..., "WL", "bL"}, float64, inputs never mutated,
# randomness from NumPy's global generator. The arithmetic is the kernels' in
# :mod:`deepstep.initializers`, :mod:`deepstep.optimizers`,
# :mod:`deepstep.regularization` and :mod:`deepstep.gradcheck`.
# =====================================================================================
def _check_dims(layers_dims):
    from .errors import InvalidParameterError

    try:
        dims = [int(n) for n in layers_dims]
        ok = len(dims) >= 2 and all(n >= 1 and n == d for n, d in zip(dims, layers_dims))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidParameterError(
            f"layers_dims must be a list of at least two positive ints [n[0], ..., n[L]]. "
            f"Got {layers_dims!r} instead.")
    return dims


def _n_layers(parameters):
    return len(parameters) // 2


def _copy(d):
    """A float64 copy of every array in a dict (so updates never touch the caller's)."""
    return {k: np.array(v, dtype=np.float64, copy=True) for k, v in d.items()}


# --- initialization -----------------------------------------------------------------
def initialize_parameters_zeros(layers_dims):
    """Initialize every weight and bias to zero: W[l] = 0, b[l] = 0.

    Every unit of a layer then computes the same function and receives the same
    gradient, so the symmetry never breaks: the network stays as good as a
    constant (accuracy 0.5 on balanced classes). Draws no random numbers.

    Arguments:
    layers_dims -- python array (list) containing the size of each layer [n[0], ..., n[L]]

    Returns:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL":
                    W1 -- weight matrix of shape (layers_dims[1], layers_dims[0])
                    b1 -- bias vector of shape (layers_dims[1], 1)
                    ...
                    WL -- weight matrix of shape (layers_dims[L], layers_dims[L-1])
                    bL -- bias vector of shape (layers_dims[L], 1)
    """
    return _init_deep(_check_dims(layers_dims), "zeros")


def initialize_parameters_random(layers_dims):
    """Initialize the weights to large random values: W[l] = randn(n[l], n[l-1]) * 10, b[l] = 0.

    The classic bad start: the sigmoid output saturates (a cost near infinity
    for wrong predictions, ``inf`` where it saturates exactly) and gradient
    descent needs thousands of iterations to recover. Draws from NumPy's global
    generator (the lesson calls ``np.random.seed(3)`` first).

    Arguments:
    layers_dims -- python array (list) containing the size of each layer [n[0], ..., n[L]]

    Returns:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL":
                    Wl -- weight matrix of shape (layers_dims[l], layers_dims[l-1])
                    bl -- bias vector of shape (layers_dims[l], 1)
    """
    return _init_deep(_check_dims(layers_dims), "large")


def initialize_parameters_he(layers_dims):
    """He initialization, for ReLU: W[l] = randn(n[l], n[l-1]) * sqrt(2 / n[l-1]), b[l] = 0.

    Draws from NumPy's global generator (the lesson calls ``np.random.seed(3)`` first).

    Arguments:
    layers_dims -- python array (list) containing the size of each layer [n[0], ..., n[L]]

    Returns:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL":
                    Wl -- weight matrix of shape (layers_dims[l], layers_dims[l-1])
                    bl -- bias vector of shape (layers_dims[l], 1)
    """
    return _init_deep(_check_dims(layers_dims), "he")


# --- mini-batches -------------------------------------------------------------------
def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """Creates a list of random minibatches from (X, Y).

    ``np.random.seed(seed)``, then one ``np.random.permutation(m)`` shuffles the
    m columns of X and Y alike; the floor(m / mini_batch_size) full mini-batches
    come first, the remainder (if any, m % mini_batch_size examples) last.

    Arguments:
    X -- input data, of shape (input size, number of examples)
    Y -- true "label" vector (1 for blue dot / 0 for red dot), of shape (1, number of examples)
         (any (n_y, m) works)
    mini_batch_size -- size of the mini-batches, integer
    seed -- the seed of the shuffle, integer

    Returns:
    mini_batches -- list of synchronous (mini_batch_X, mini_batch_Y), copies of the columns:
                    mini_batch_X of shape (input size, mini_batch_size), mini_batch_Y of shape (1, mini_batch_size)
    """
    from .errors import DataError, InvalidParameterError

    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"X must have shape (n_x, m). Got shape {X.shape}.")
    m = X.shape[1]
    Y = np.asarray(Y)
    if Y.shape[-1] != m:
        raise DataError(f"X has {m} examples (columns) but Y has {Y.shape[-1]}; they must match.")
    Y = Y.reshape(-1, m)
    if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, (int, np.integer)) \
            or mini_batch_size < 1:
        raise InvalidParameterError(
            f"The 'mini_batch_size' parameter must be a positive int. Got {mini_batch_size!r} instead.")
    np.random.seed(seed)
    permutation = np.random.permutation(m)
    shuffled_X, shuffled_Y = X[:, permutation], Y[:, permutation]
    batches = []
    n_full = m // mini_batch_size
    for k in range(n_full):
        cols = slice(k * mini_batch_size, (k + 1) * mini_batch_size)
        batches.append((shuffled_X[:, cols], shuffled_Y[:, cols]))
    if m % mini_batch_size != 0:
        batches.append((shuffled_X[:, n_full * mini_batch_size:], shuffled_Y[:, n_full * mini_batch_size:]))
    return batches


# --- optimizers ---------------------------------------------------------------------
def update_parameters_with_gd(parameters, grads, learning_rate):
    """Update parameters using one step of gradient descent: W[l] = W[l] - α dW[l], b[l] = b[l] - α db[l].

    The same rule as :func:`update_parameters`.

    Arguments:
    parameters -- python dictionary containing your parameters to be updated:
                    parameters['W' + str(l)] = Wl
                    parameters['b' + str(l)] = bl
    grads -- python dictionary containing your gradients to update each parameters:
                    grads['dW' + str(l)] = dWl
                    grads['db' + str(l)] = dbl
    learning_rate -- the learning rate, scalar.

    Returns:
    parameters -- python dictionary containing your updated parameters (a new dictionary)
    """
    return update_parameters(parameters, grads, learning_rate)


def initialize_velocity(parameters):
    """Initializes the velocity as a python dictionary of zeros.

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"

    Returns:
    v -- python dictionary containing the current velocity:
                    v['dW' + str(l)] = velocity of dWl, zeros of the shape of parameters["W" + str(l)]
                    v['db' + str(l)] = velocity of dbl, zeros of the shape of parameters["b" + str(l)]
    """
    v = {}
    for l in range(1, _n_layers(parameters) + 1):
        v["dW" + str(l)] = np.zeros(np.shape(parameters["W" + str(l)]))
        v["db" + str(l)] = np.zeros(np.shape(parameters["b" + str(l)]))
    return v


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """Update parameters using Momentum (an exponentially weighted average of the gradients).

    v[dW[l]] = β v[dW[l]] + (1 - β) dW[l];  W[l] = W[l] - α v[dW[l]]   (and likewise for b[l])

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"
    grads -- python dictionary containing your gradients "dW1", "db1", ..., "dWL", "dbL"
    v -- python dictionary containing the current velocity, keyed "dW1", "db1", ...
    beta -- the momentum hyperparameter, scalar
    learning_rate -- the learning rate, scalar

    Returns:
    parameters -- python dictionary containing your updated parameters
    v -- python dictionary containing your updated velocities
    (new dictionaries: the ones passed in are not changed)
    """
    from .optimizers import momentum_update

    parameters, v = _copy(parameters), _copy(v)
    for l in range(1, _n_layers(parameters) + 1):
        for p in ("W", "b"):
            key = "d" + p + str(l)
            momentum_update(parameters[p + str(l)], grads[key], v[key], beta, learning_rate)
    return parameters, v


def initialize_adam(parameters):
    """Initializes v and s as two python dictionaries of zeros.

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"

    Returns:
    v -- python dictionary that will contain the exponentially weighted average of the gradient:
                    v["dW" + str(l)], v["db" + str(l)], zeros of the shapes of W[l] and b[l]
    s -- python dictionary that will contain the exponentially weighted average of the squared gradient:
                    s["dW" + str(l)], s["db" + str(l)], zeros of the shapes of W[l] and b[l]
    """
    return initialize_velocity(parameters), initialize_velocity(parameters)


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01,
                                beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Update parameters using Adam, step number t (counted from 1).

    v = β1 v + (1 - β1) dW          v_corrected = v / (1 - β1^t)
    s = β2 s + (1 - β2) dW²         s_corrected = s / (1 - β2^t)
    W = W - α v_corrected / (√s_corrected + ε)     (and likewise for b)

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"
    grads -- python dictionary containing your gradients "dW1", "db1", ...
    v -- Adam variable, moving average of the first gradient, python dictionary
    s -- Adam variable, moving average of the squared gradient, python dictionary
    t -- Adam counter, the number of steps taken so far including this one (int >= 1)
    learning_rate -- the learning rate, scalar.
    beta1 -- Exponential decay hyperparameter for the first moment estimates
    beta2 -- Exponential decay hyperparameter for the second moment estimates
    epsilon -- hyperparameter preventing division by zero in Adam updates

    Returns:
    parameters -- python dictionary containing your updated parameters
    v -- Adam variable, moving average of the first gradient, python dictionary
    s -- Adam variable, moving average of the squared gradient, python dictionary
    v_corrected -- python dictionary, the bias-corrected first moments
    s_corrected -- python dictionary, the bias-corrected second moments
    (new dictionaries: the ones passed in are not changed)
    """
    from .errors import InvalidParameterError
    from .optimizers import adam_update

    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise InvalidParameterError(f"The Adam step 't' must be an int >= 1. Got {t!r} instead.")
    parameters, v, s = _copy(parameters), _copy(v), _copy(s)
    v_corrected, s_corrected = {}, {}
    for l in range(1, _n_layers(parameters) + 1):
        for p in ("W", "b"):
            key = "d" + p + str(l)
            v_corrected[key], s_corrected[key] = adam_update(
                parameters[p + str(l)], grads[key], v[key], s[key], t, learning_rate,
                beta1, beta2, epsilon)
    return parameters, v, s, v_corrected, s_corrected


# --- learning-rate decay ------------------------------------------------------------
def update_lr(learning_rate0, epoch_num, decay_rate):
    """Calculates the updated learning rate using exponential weight decay: α = α0 / (1 + decay_rate · epoch_num).

    Arguments:
    learning_rate0 -- Original learning rate. Scalar
    epoch_num -- Epoch number. Integer
    decay_rate -- Decay rate. Scalar

    Returns:
    learning_rate -- Updated learning rate. Scalar
    """
    from .optimizers import inverse_decay

    return inverse_decay(learning_rate0, epoch_num, decay_rate)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """Calculates the updated learning rate using exponential weight decay with fixed interval scheduling.

    α = α0 / (1 + decay_rate · floor(epoch_num / time_interval)): the rate decays in steps.

    Arguments:
    learning_rate0 -- Original learning rate. Scalar
    epoch_num -- Epoch number. Integer.
    decay_rate -- Decay rate. Scalar.
    time_interval -- Number of epochs where you update the learning rate.

    Returns:
    learning_rate -- Updated learning rate. Scalar
    """
    from .optimizers import step_decay

    return step_decay(learning_rate0, epoch_num, decay_rate, time_interval)


# --- regularization -----------------------------------------------------------------
def compute_cost_with_regularization(AL, Y, parameters, lambd):
    """Implement the cost function with L2 regularization (weights only, not biases).

    J = -1/m Σ (y log a + (1 - y) log(1 - a)) + λ/(2m) Σ_l ‖W[l]‖²_F

    Arguments:
    AL -- post-activation, output of forward propagation, of shape (output size, number of examples)
    Y -- "true" labels vector, of shape (output size, number of examples)
    parameters -- python dictionary containing parameters of the model "W1", "b1", ..., "WL", "bL"
    lambd -- the regularization hyperparameter λ, scalar

    Returns:
    cost -- value of the regularized loss function, a float
    """
    from .regularization import l2_cost

    m = np.asarray(Y).reshape(AL.shape).shape[1]
    weights = [parameters["W" + str(l)] for l in range(1, _n_layers(parameters) + 1)]
    return float(compute_cost(AL, Y)) + l2_cost(weights, lambd, m)


def _check_keep_prob(keep_prob):
    from .errors import InvalidParameterError

    if isinstance(keep_prob, bool) or not isinstance(keep_prob, (int, float, np.floating)) \
            or not 0 < keep_prob <= 1:
        raise InvalidParameterError(
            f"The 'keep_prob' parameter must be a float in (0, 1]. Got {keep_prob!r} instead.")


def L_model_forward_with_dropout(X, parameters, keep_prob):
    """Implements the forward propagation: [LINEAR -> RELU + DROPOUT] * (L-1) -> LINEAR -> SIGMOID.

    Inverted dropout on every hidden layer l = 1 .. L-1, in order, each mask drawn
    from NumPy's global generator:

        D[l] = np.random.rand(A[l].shape[0], A[l].shape[1]) < keep_prob      (n[l], m)
        A[l] = A[l] * D[l] / keep_prob

    Arguments:
    X -- input dataset, of shape (n[0], number of examples)
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"
    keep_prob -- probability of keeping a neuron active during drop-out, scalar in (0, 1]

    Returns:
    AL -- last activation value, output of the forward propagation, of shape (1, m)
    caches -- list of L tuples, caches[l-1] = (linear_cache, activation_cache, D): D is layer l's
              float 0/1 mask (None for the output layer); the linear cache of layer l+1 holds the
              dropped A[l], as the backward pass needs
    """
    from .regularization import dropout_apply

    _check_keep_prob(keep_prob)
    caches = []
    A = X
    L = _n_layers(parameters)
    for l in range(1, L):
        A, (linear_cache, Z) = linear_activation_forward(
            A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        D = (np.random.rand(*A.shape) < keep_prob).astype(np.float64)
        A = dropout_apply(A, D, keep_prob)
        caches.append((linear_cache, Z, D))
    AL, (linear_cache, Z) = linear_activation_forward(
        A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append((linear_cache, Z, None))
    return AL, caches


def _backward_fused(AL, Y, caches, lambd=0.0, keep_prob=None):
    """The backward pass of the regularized and dropout networks.

    The output layer uses the fused gradient of sigmoid + cross-entropy,
    dZ[L] = AL - Y (what the published regularization code computes; it stays
    finite when AL saturates at exactly 0 or 1), then the lesson's linear and
    relu backward steps. ``lambd`` adds λ/m W[l] to dW[l]; ``keep_prob``
    (with 3-tuple dropout caches) masks and rescales each dA[l], l >= 1.
    """
    from .regularization import dropout_apply, l2_grad

    grads = {}
    L = len(caches)
    Y = np.asarray(Y).reshape(AL.shape)
    m = AL.shape[1]
    dZ = AL - Y                                          # (1, m); sigmoid + cross-entropy
    for l in range(L, 0, -1):
        linear_cache, Z = caches[l - 1][0], caches[l - 1][1]
        if l < L:
            dZ = relu_backward(grads["dA" + str(l)], Z)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
        l2_grad(dW, linear_cache[1], lambd, m)            # dW += λ/m W (no-op for λ = 0)
        if keep_prob is not None and l > 1:
            # dA[l-1] = dA[l-1] * D[l-1] / keep_prob: only the kept units pass gradient.
            dA_prev = dropout_apply(dA_prev, caches[l - 2][2], keep_prob)
        grads["dA" + str(l - 1)] = dA_prev
        grads["dW" + str(l)] = dW
        grads["db" + str(l)] = db
    return grads


def L_model_backward_with_dropout(AL, Y, caches, keep_prob):
    """Implements the backward propagation of :func:`L_model_forward_with_dropout`.

    dZ[L] = AL - Y; for l = L .. 1: dW[l] = 1/m dZ[l] A[l-1]^T (A[l-1] the dropped
    activations), db[l] = 1/m Σ dZ[l], dA[l-1] = W[l]^T dZ[l], then for l-1 >= 1
    dA[l-1] = dA[l-1] * D[l-1] / keep_prob (kept so in grads["dA" + str(l-1)]) and
    dZ[l-1] = dA[l-1] * [Z[l-1] > 0].

    Arguments:
    AL -- output of the forward propagation, of shape (1, m)
    Y -- "true" labels vector, of shape (1, m)
    caches -- cache output from L_model_forward_with_dropout()
    keep_prob -- probability of keeping a neuron active during drop-out, the forward pass's

    Returns:
    grads -- A dictionary with the gradients with respect to each parameter, activation and
             pre-activation variables, keyed as L_model_backward's ("dA0" .. "dA(L-1)",
             "dW1" .. "dWL", "db1" .. "dbL")
    """
    _check_keep_prob(keep_prob)
    return _backward_fused(AL, Y, caches, keep_prob=keep_prob)


def L_model_backward_with_regularization(AL, Y, caches, lambd):
    """Implements the backward propagation of our baseline model to which we added an L2 regularization.

    As L_model_backward, with the fused dZ[L] = AL - Y and dW[l] += λ/m W[l] (biases
    are not regularized); ``lambd = 0`` gives the unregularized gradients.

    Arguments:
    AL -- output of the forward propagation, of shape (1, m)
    Y -- "true" labels vector, of shape (1, m)
    caches -- cache output from L_model_forward()
    lambd -- regularization hyperparameter λ, scalar >= 0

    Returns:
    grads -- A dictionary with the gradients with respect to each parameter, activation and
             pre-activation variables, keyed as L_model_backward's
    """
    from .errors import InvalidParameterError

    if not np.isfinite(lambd) or lambd < 0:
        raise InvalidParameterError(f"The 'lambd' parameter must be a float >= 0. Got {lambd!r} instead.")
    return _backward_fused(AL, Y, caches, lambd=lambd)


# --- gradient check -----------------------------------------------------------------
def gradient_check(parameters, gradients, X, Y, epsilon=1e-7):
    """Checks if backward propagation computes correctly the gradient of the cost output by forward propagation.

    θ = (W1, b1, ..., WL, bL) flattened; J(θ) = compute_cost(L_model_forward(X, θ), Y);
    gradapprox[i] = (J(θ + ε e_i) - J(θ - ε e_i)) / (2ε) over every entry;

        difference = ‖grad - gradapprox‖₂ / (‖grad‖₂ + ‖gradapprox‖₂)

    Below about 1e-7 the gradients are right; above 1e-3 almost surely wrong.

    Arguments:
    parameters -- python dictionary containing your parameters "W1", "b1", ..., "WL", "bL"
    gradients -- output of backward propagation, contains gradients of the cost with respect to the
                 parameters ("dW1", "db1", ...; others such as "dA1" are ignored)
    X -- input datapoint, of shape (input size, number of examples)
    Y -- true "label", of shape (1, number of examples)
    epsilon -- tiny shift to the input to compute approximated gradient

    Returns:
    difference -- difference between the approximated gradient and the backward propagation gradient, a float
    """
    from .gradcheck import numerical_gradient, relative_difference

    keys = [p + str(l) for l in range(1, _n_layers(parameters) + 1) for p in ("W", "b")]
    shapes = [np.shape(parameters[k]) for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    theta = np.concatenate([np.asarray(parameters[k], dtype=np.float64).ravel() for k in keys])
    grad = np.concatenate([np.asarray(gradients["d" + k], dtype=np.float64).ravel() for k in keys])
    offsets = np.cumsum([0] + sizes)

    def J(th):
        params = {k: th[offsets[i]:offsets[i + 1]].reshape(shapes[i]) for i, k in enumerate(keys)}
        AL, _ = L_model_forward(X, params)
        return float(compute_cost(AL, Y))

    return relative_difference(grad, numerical_gradient(J, theta, epsilon))
