"""Gradient checking: numerical (two-sided) against analytic gradients.

    dθ_approx[i] = (J(θ + ε e_i) - J(θ - ε e_i)) / (2ε)
    difference   = ‖dθ - dθ_approx‖ / (‖dθ‖ + ‖dθ_approx‖)

A difference below about 1e-7 (float64, ε = 1e-7) means the backward pass is
right; above 1e-3 it is almost certainly wrong.
"""

from __future__ import annotations

import numpy as np


def numerical_gradient(J, theta, epsilon=1e-7):
    """Two-sided finite differences of ``J`` at the 1-D float64 vector ``theta``.

    ``theta`` is perturbed in place one entry at a time and restored exactly.
    """
    grad = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + epsilon
        j_plus = J(theta)
        theta[i] = old - epsilon
        j_minus = J(theta)
        theta[i] = old
        grad[i] = (j_plus - j_minus) / (2 * epsilon)
    return grad


def relative_difference(grad, gradapprox):
    """‖g - g̃‖ / (‖g‖ + ‖g̃‖); 0.0 when both are zero."""
    num = np.linalg.norm(grad - gradapprox)
    den = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return float(num / den) if den > 0 else 0.0
