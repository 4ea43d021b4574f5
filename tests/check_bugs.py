"""Deliberately broken versions of the lesson's functions, for tests/test_check.py.

Each bug is (function, old text, new text, expected words of the diagnosis): the
old text of tests/fixtures/check/lesson_solution.py replaced by the new. Each
group puts at most one bug in a function, so one run checks them all at once.
"""

GROUPS = {
    "a": [
        ("linear_backward", "db = 1 / m * np.sum(dZ, axis=1, keepdims=True)", "db = 1 / m * np.sum(dZ, axis=1)",
         "keepdims"),
        ("relu_backward", "dZ[Z <= 0] = 0", "dZ[Z > 0] = 0", "ReLU mask inverted"),
        ("linear_activation_forward",
         "        A, activation_cache = sigmoid(Z)\n    elif activation == \"relu\":\n"
         "        Z, linear_cache = linear_forward(A_prev, W, b)\n        A, activation_cache = relu(Z)",
         "        A, activation_cache = relu(Z)\n    elif activation == \"relu\":\n"
         "        Z, linear_cache = linear_forward(A_prev, W, b)\n        A, activation_cache = sigmoid(Z)",
         "sigmoid and ReLU swapped"),
        ("initialize_parameters_deep",
         "parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))\n"
         "        assert parameters['W' + str(l)].shape == (layer_dims[l], layer_dims[l - 1])\n"
         "        assert parameters['b' + str(l)].shape == (layer_dims[l], 1)",
         "parameters['b' + str(l)] = np.zeros(layer_dims[l])", "bias of shape"),
        ("compute_cost", "cost = -1 / m * np.sum(", "cost = 1 / m * np.sum(", "the cost's sign"),
        ("L_model_backward", "dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))",
         "dAL = np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)", "dAL's sign"),
        ("update_parameters", "    for l in range(L):\n        parameters[\"W\" + str(l + 1)]",
         "    for l in range(L - 1):\n        parameters[\"W\" + str(l + 1)]", "off-by-one layer loop"),
        ("sigmoid", "A = 1 / (1 + np.exp(-Z))", "A = 1 / (1 + np.exp(Z))", "exp(Z) instead of exp(-Z)"),
        ("linear_forward", "cache = (A, W, b)", "cache = (W, A, b)", "cache in another order"),
        ("L_model_forward", "    for l in range(1, L):\n        A_prev = A",
         "    for l in range(1, L - 1):\n        A_prev = A", "off-by-one layer loop"),
        ("initialize_parameters_he", "np.sqrt(2. / layers_dims[l - 1])", "np.sqrt(2. / layers_dims[l])",
         "not sqrt(2 / n[l])"),
        ("update_parameters_with_momentum", "(1 - beta) * grads[", "grads[", "(1 - beta)"),
    ],
    "b": [
        ("linear_backward", "dW = 1 / m * np.dot(dZ, A_prev.T)", "dW = np.dot(dZ, A_prev.T)", "missing 1/m in dW"),
        ("relu_backward", "dZ = np.array(dA, copy=True)", "dZ = dA", "changes its input dA in place"),
        ("compute_cost",
         "cost = -1 / m * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))\n"
         "    cost = np.squeeze(cost)  # To make sure your cost's shape is what we expect (e.g. this turns [[17]] "
         "into 17).\n    assert cost.shape == ()",
         "cost = -1 / m * (np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T))\n    cost = cost\n"
         "    assert cost.shape == (1, 1)",
         "np.squeeze"),
        ("L_model_backward", "for l in reversed(range(L - 1)):", "for l in reversed(range(1, L - 1)):",
         "off-by-one layer loop"),
        ("sigmoid_backward", "dZ = dA * s * (1 - s)", "dZ = dA * s", "(1 - s) factor is missing"),
        ("linear_activation_backward", "linear_cache, activation_cache = cache",
         "activation_cache, linear_cache = cache", "another layout"),
        ("initialize_parameters", "b1 = np.zeros((n_h, 1))", "b1 = np.zeros(n_h)", "bias of shape"),
        ("relu", "A = np.maximum(0, Z)", "A = np.minimum(0, Z)", "np.minimum instead of np.maximum"),
        ("update_parameters_with_adam", " / (1 - np.power(beta1, t))", "", "v is not bias-corrected"),
        ("random_mini_batches", "    if m % mini_batch_size != 0:", "    if False:", "last, smaller mini-batch"),
        ("compute_cost_with_regularization", "1 / m * lambd / 2 * L2", "1 / m * lambd * L2", "lambd / (2 m)"),
        ("L_model_forward", "activation=\"relu\")\n        caches.append(cache)",
         "activation=\"sigmoid\")\n        caches.append(cache)", "hidden layers use sigmoid"),
    ],
    "c": [
        ("update_lr", "learning_rate = 1 / (1 + decay_rate * epoch_num) * learning_rate0",
         "learning_rate = learning_rate0 / 1 + decay_rate * epoch_num", "parentheses"),
        ("schedule_lr_decay", "np.floor(epoch_num / time_interval)", "(epoch_num / time_interval)", "np.floor"),
        ("initialize_parameters_random", "* 10\n", "\n", "not scaled by 10"),
        ("L_model_backward_with_regularization", " + (lambd / m) * W", "", "L2 term is missing"),
        ("L_model_forward_with_dropout", "        A = A / keep_prob ", "        A = A ", "not divided by keep_prob"),
        ("L_model_backward_with_dropout", "            dA_prev = dA_prev / keep_prob", "            dA_prev = dA_prev",
         "not divided by keep_prob"),
        ("gradient_check", "gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)",
         "gradapprox[i] = (J_plus[i] - J_minus[i]) / epsilon", "divided by ε"),
        ("initialize_parameters_zeros", "parameters['W' + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1]))",
         "parameters['W' + str(l)] = np.ones((layers_dims[l], layers_dims[l - 1]))", "must be zeros too"),
    ],
}


def broken_source(lesson_source, group):
    src = lesson_source
    for name, old, new, _ in GROUPS[group]:
        assert src.count(old) >= 1, (name, old)
        src = src.replace(old, new)
    return src
