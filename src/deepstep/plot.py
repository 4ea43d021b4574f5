"""Pictures of training and of what a network learned, as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` built directly (not
through ``pyplot``), so deepstep never touches the process's backend: in a
notebook the figure displays inline when it is a cell's value (it has a
``_repr_png_``), in a script ``fig.savefig("x.png")`` writes it. Nothing here is imported by ``import
deepstep``; it needs matplotlib.

=============================  ===================================================
:func:`learning_curves`        train/validation cost and metrics per epoch
:func:`decision_boundary`      predicted classes (or values) over a 2-D input
:func:`confusion_matrix`       true vs predicted classes
:func:`first_layer_weights`    each first-layer unit's weights as an image
:func:`activation_maps`        every hidden unit's activation over a 2-D input
:func:`activation_histograms`  each layer's activations, and its dead units
:func:`mislabeled_images`      the lesson application's grid of mislabeled images
=============================  ===================================================

Inputs follow DeepNetwork: X of shape (n_x, m), one example per column.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import DataError, InvalidParameterError

__all__ = [
    "activation_histograms", "activation_maps", "confusion_matrix", "decision_boundary", "first_layer_weights",
    "layer_outputs", "learning_curves", "mislabeled_images",
]

_CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]


@functools.cache
def _figure_class():
    from matplotlib.figure import Figure

    class PlotFigure(Figure):
        """A matplotlib Figure that renders itself in Jupyter (``_repr_png_``) without pyplot."""

        def _repr_png_(self):
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png")
            return buf.getvalue()

    PlotFigure.__module__ = __name__
    return PlotFigure


def _figure(width, height):
    return _figure_class()(figsize=(width, height), layout="constrained")


def _require_built(model):
    if not getattr(model, "is_built", False):
        from .errors import NotFittedError

        raise NotFittedError("This DeepNetwork is not trained yet: call fit() or load a model first.")


def layer_outputs(model, X):
    """[A[1], ..., A[L]] for X (n_x, m): every layer's activations, (n[l], m) each, in float64.

    Computed from ``model.parameters`` and the activation kernels, after the
    model's input scaling (no dropout), so it is what ``predict_proba`` computes.
    """
    from .activations import get_activation

    _require_built(model)
    X = model.check_input(X)
    A = model.scaler.transform(X, np.float64)
    params = model.parameters
    out = []
    for l, name in enumerate(model.activations, start=1):
        A = get_activation(name).forward(params[f"W{l}"].astype(np.float64) @ A + params[f"b{l}"])
        out.append(A)
    return out


# -- training ---------------------------------------------------------------------------------------------
def _log_helps(*series):
    vals = np.concatenate([np.asarray(s, dtype=float) for s in series if s is not None and len(s)])
    vals = vals[np.isfinite(vals)]
    return vals.size > 1 and vals.min() > 0 and vals.max() / vals.min() > 30


def learning_curves(history, title=None, log="auto"):
    """Cost per epoch (train and validation), and each metric in its own panel.

    ``history`` is a :class:`~deepstep.History` (``model.history``) or a
    DeepNetwork. ``log``: True, False, or 'auto' (a log cost axis when the cost
    falls by more than 30x). The best epoch (``history.best_epoch``) is marked.
    """
    history = getattr(history, "history", history)
    cost = history.get("cost") or []
    if not cost:
        raise DataError("The history is empty: train the model first (fit) to plot its learning curves.")
    epochs = history.get("epoch") or list(range(1, len(cost) + 1))
    metrics = [k for k in ("accuracy", "mse", "r2") if history.get(k) or history.get("val_" + k)]
    fig = _figure(4.6 * (1 + len(metrics)), 3.6)
    axes = fig.subplots(1, 1 + len(metrics), squeeze=False)[0]
    ax = axes[0]
    ax.plot(epochs, cost, label="train", color="#1f77b4")
    if history.get("val_cost"):
        ax.plot(epochs, history["val_cost"], label="validation", color="#ff7f0e")
    if log is True or (log == "auto" and _log_helps(cost, history.get("val_cost"))):
        ax.set_yscale("log")
    ax.set_ylabel("cost")
    ax.set_title("cost")
    for ax, key in zip(axes[1:], metrics):
        if history.get(key):
            ax.plot(epochs, history[key], label="train", color="#1f77b4")
        if history.get("val_" + key):
            ax.plot(epochs, history["val_" + key], label="validation", color="#ff7f0e")
        if key == "mse" and log is not False and _log_helps(history.get(key), history.get("val_" + key)):
            ax.set_yscale("log")
        ax.set_title(key)
        ax.set_ylabel(key)
    best = getattr(history, "best_epoch", None)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if best is not None:
            ax.axvline(best, color="0.5", ls="--", lw=1, label=f"best epoch ({best})")
        ax.legend(fontsize=8)
    stopped = getattr(history, "stopped", None)
    fig.suptitle((title or "learning curves") + (f" (stopped: {stopped})" if stopped else ""))
    return fig


# -- 2-D inputs ----------------------------------------------------------------------------------------------
def _grid(X, resolution, pad=0.15):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        raise DataError(f"This plot needs 2-D inputs: X of shape (2, m). Got shape {X.shape}.")
    lo, hi = X.min(axis=1), X.max(axis=1)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.vstack([xx.ravel(), yy.ravel()])


def _class_index(model, y):
    """Integer class indices 0..k-1 of labels ``y`` for a labels-mode model."""
    y = np.asarray(y).ravel()
    return np.searchsorted(np.asarray(model.classes), y)


def decision_boundary(model, X, y=None, resolution=200, title=None):
    """Predicted classes over the plane of a 2-input model, with the examples on top.

    Binary models show the probability of the second class as shading and the
    0.5 contour; multiclass models one color per class; regression models the
    predicted value.
    """
    from matplotlib.colors import ListedColormap

    _require_built(model)
    if model.layer_dims[0] != 2:
        raise DataError(f"decision_boundary needs a model with 2 inputs; this one has {model.layer_dims[0]}.")
    xx, yy, grid = _grid(X, resolution)
    fig = _figure(5.2, 4.4)
    ax = fig.subplots()
    AL = model.predict_proba(grid)
    X = np.asarray(X, dtype=float)
    labels = model.targets is not None and model.targets.mode == "labels"
    if model.output == "linear":
        cs = ax.contourf(xx, yy, AL[0].reshape(xx.shape), levels=20, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="prediction")
        if y is not None:
            ax.scatter(X[0], X[1], c=np.asarray(y, dtype=float).ravel()[: X.shape[1]], cmap="viridis",
                       edgecolors="k", linewidths=0.4, s=18)
    elif model.output == "sigmoid" and AL.shape[0] == 1:
        p = AL[0].reshape(xx.shape)
        cs = ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
        ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.2)
        cbar = fig.colorbar(cs, ax=ax)
        cbar.set_label(f"P(class {model.classes[1]})" if labels else "P(1)")
        if y is not None:
            idx = _class_index(model, y) if labels else np.asarray(y).ravel().astype(int)
            cmap = ListedColormap(["#2166ac", "#b2182b"])
            ax.scatter(X[0], X[1], c=idx, cmap=cmap, vmin=0, vmax=1, edgecolors="k", linewidths=0.4, s=18)
    else:
        k = AL.shape[0]
        colors = _CLASS_COLORS[:k] if k <= len(_CLASS_COLORS) else None
        if colors:
            cmap = ListedColormap(colors)
        else:
            from matplotlib import colormaps

            cmap = colormaps["tab20"].resampled(k)
        ax.contourf(xx, yy, AL.argmax(0).reshape(xx.shape), levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.35)
        if y is not None:
            idx = _class_index(model, y) if labels else np.asarray(y).argmax(0)
            ax.scatter(X[0], X[1], c=idx, cmap=cmap, vmin=-0.5, vmax=k - 0.5, edgecolors="k", linewidths=0.4,
                       s=18)
        if labels:
            from matplotlib.patches import Patch

            names = [str(c) for c in model.classes]
            ax.legend(handles=[Patch(color=cmap(i), label=n) for i, n in enumerate(names)], fontsize=8,
                      loc="best")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    names = getattr(model, "feature_names", None) or ["x1", "x2"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title or "decision boundary")
    return fig


def activation_maps(model, X=None, resolution=80, max_units=16):
    """Every hidden unit's activation over the input plane of a 2-input model, one row per layer.

    The lesson's opening question made visible: layer 1's units cut the
    plane with lines (ReLU: one half is zero), deeper units combine them into
    corners and regions. The output layer's map is the last row. ``X``
    (2, m) sets the plotted range (default: [-1, 1]²); at most ``max_units``
    units per layer are drawn.
    """
    _require_built(model)
    if model.layer_dims[0] != 2:
        raise DataError(f"activation_maps needs a model with 2 inputs; this one has {model.layer_dims[0]}.")
    xx, yy, grid = _grid(np.array([[-1.0, 1.0], [-1.0, 1.0]]) if X is None else X, resolution, pad=0.05)
    points = None if X is None else np.asarray(X, dtype=float)
    outs = layer_outputs(model, grid)
    acts = model.activations
    ncols = min(max(a.shape[0] for a in outs), max_units)
    fig = _figure(1.5 * ncols + 1.2, 1.55 * len(outs) + 0.6)
    axes = fig.subplots(len(outs), ncols, squeeze=False)
    for l, (A, act) in enumerate(zip(outs, acts), start=1):
        for j in range(ncols):
            ax = axes[l - 1, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= A.shape[0]:
                ax.axis("off")
                continue
            img = A[j].reshape(xx.shape)
            dead = act == "relu" and not np.any(img > 0)
            lo, hi = float(img.min()), float(img.max())
            ax.imshow(img, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()), cmap="magma",
                      vmin=lo, vmax=hi if hi > lo else lo + 1, aspect="auto")
            if points is not None:
                ax.scatter(points[0], points[1], s=1, c="#4fc3f7", alpha=0.35, linewidths=0)
            if dead:
                ax.text(0.5, 0.5, "dead", transform=ax.transAxes, ha="center", va="center", color="w",
                        fontsize=8)
            if j == 0:
                kind = "output" if l == len(outs) else "layer"
                ax.set_ylabel(f"{kind} {l}\n{act}", fontsize=8)
            if l == 1:
                ax.set_title(f"unit {j + 1}", fontsize=8)
    fig.suptitle("what each unit computes over the input plane (dark: low, bright: high; each map on its own "
                 "scale; dots: the examples)" if points is not None else
                 "what each unit computes over the input plane (each map on its own scale)", fontsize=10)
    return fig


# -- classification ----------------------------------------------------------------------------------------------
def confusion_matrix(model, X, y, normalize=False, title=None):
    """Counts of true class (rows) vs predicted class (columns) on X, y; ``normalize`` by row."""
    _require_built(model)
    if model.output == "linear" or model.targets.mode != "labels":
        raise InvalidParameterError("confusion_matrix needs a classifier trained on labels (not regression, "
                                    "one-hot or multilabel targets).")
    classes = np.asarray(model.classes)
    k = len(classes)
    true = _class_index(model, y)
    pred = _class_index(model, model.predict(X))
    if true.shape != pred.shape:
        raise DataError(f"X has {pred.size} examples but y has {true.size}.")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    fig = _figure(1.0 + 0.55 * k + 2.2, 0.55 * k + 2.2)
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    names = [str(getattr(model, "class_names", None)[int(c)]) if _has_name(model, c) else str(c)
             for c in classes]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if
                  max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(k), names)
    top = shown.max() if shown.size else 1
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            ax.text(j, i, f"{v:.2f}" if normalize else f"{v:d}", ha="center", va="center", fontsize=9,
                    color="w" if v > 0.6 * top else "k")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {acc:.3f})")
    return fig


def _has_name(model, c):
    names = getattr(model, "class_names", None)
    return bool(names) and isinstance(c, (int, np.integer)) and 0 <= int(c) < len(names)


def _image_shape(model, shape):
    shape = shape or getattr(model, "input_shape", None)
    if shape is None:
        n = model.layer_dims[0]
        side = math.isqrt(n)
        if side * side == n:
            shape = (side, side)
        elif n % 3 == 0 and math.isqrt(n // 3) ** 2 == n // 3:
            side = math.isqrt(n // 3)
            shape = (side, side, 3)
        else:
            raise DataError(f"Cannot show {n} inputs as an image: pass shape=(height, width[, channels]) "
                            f"(models trained on image files know theirs).")
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != model.layer_dims[0]:
        raise DataError(f"shape {shape} holds {math.prod(shape)} values; the model has {model.layer_dims[0]} "
                        f"inputs.")
    return shape


def first_layer_weights(model, shape=None, max_units=20, title=None):
    """Each first-layer unit's weights W[1][j] as an image of the input's shape: what it looks for.

    Each unit's weights are scaled to its own range (color images: per unit,
    all channels together; gray: red for positive, blue for negative), so each
    title gives the weights' norm: a unit whose weights have decayed to almost
    nothing still shows a (magnified) pattern.
    """
    _require_built(model)
    shape = _image_shape(model, shape)
    W = np.asarray(model.parameters["W1"], dtype=np.float64)
    n = min(W.shape[0], max_units)
    ncols = min(n, 5)
    nrows = math.ceil(n / ncols)
    fig = _figure(2.0 * ncols, 2.1 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for j, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if j >= n:
            continue
        w = W[j].reshape(shape)
        if len(shape) == 3 and shape[2] in (3, 4):
            w = w[..., :3]
            lo, hi = w.min(), w.max()
            ax.imshow((w - lo) / (hi - lo) if hi > lo else np.zeros_like(w))
        else:
            w = w.reshape(shape[:2])
            m = np.abs(w).max() or 1.0
            ax.imshow(w, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_title(f"unit {j + 1}  |w| = {np.linalg.norm(W[j]):.2g}", fontsize=8)
    fig.suptitle(title or f"first-layer weights ({W.shape[0]} units, {W.shape[1]} inputs; each image on its own "
                          f"scale, |w| its size)", fontsize=10)
    return fig


def activation_histograms(model, X, bins=40, title=None):
    """A histogram of each layer's activations on X, with its dead units (never active on X) counted.

    A ReLU unit whose output is 0 for every example learns nothing more (its
    gradient is 0): the title of each panel says how many there are.
    """
    outs = layer_outputs(model, X)
    acts = model.activations
    fig = _figure(3.2 * len(outs), 5.6)
    axes = fig.subplots(2, len(outs), squeeze=False)
    for l, (ax, bx, A, act) in enumerate(zip(axes[0], axes[1], outs, acts), start=1):
        ax.hist(A.ravel(), bins=bins, color="#1f77b4" if l < len(outs) else "#ff7f0e")
        active = np.mean(A > 0, axis=1) if act in ("relu", "leaky_relu") else None
        dead = None if active is None else int(np.sum(active == 0))
        ax.set_yscale("log")
        kind = "output" if l == len(outs) else "layer"
        units = f"{A.shape[0]} unit" + ("s" if A.shape[0] != 1 else "")
        sub = f"{act}, {units}" + (f", {dead} dead" if dead is not None else "")
        ax.set_title(f"{kind} {l}\n{sub}", fontsize=9)
        ax.set_xlabel("activation")
        idx = np.arange(1, A.shape[0] + 1)
        if active is not None:
            bx.bar(idx, active, color=np.where(active == 0, "#d62728", "#1f77b4"))
            bx.set_ylim(0, 1.02)
            bx.set_ylabel("fraction active" if l == 1 else "")
        else:
            bx.bar(idx, A.mean(axis=1), color="#ff7f0e" if l == len(outs) else "#1f77b4")
            bx.set_ylabel("mean activation")
        bx.set_xlabel("unit")
        bx.set_xticks(idx if A.shape[0] <= 20 else idx[:: math.ceil(A.shape[0] / 10)])
    axes[0, 0].set_ylabel("count (log)")
    fig.suptitle(title or f"activations on {outs[0].shape[1]} examples (red bars: dead units, never active)",
                 fontsize=10)
    return fig


def mislabeled_images(model, X, y, shape=None, max_images=10, class_names=None, title=None):
    """The lesson application's ``print_mislabeled_images``: the images the model gets wrong.

    Each image is titled with the prediction and the true class. ``X`` holds
    raw pixels (n_x, m) (0..255, or 0..1); ``class_names`` (or the model's)
    name the classes.
    """
    _require_built(model)
    shape = _image_shape(model, shape)
    X = model.check_input(X)
    y = np.asarray(y).ravel()
    pred = model.predict(X).ravel()
    wrong = np.flatnonzero(pred != y)
    names = class_names if class_names is not None else getattr(model, "class_names", None)

    def name(c):
        v = c.item() if hasattr(c, "item") else c
        if names is not None and isinstance(v, (int, np.integer)) and 0 <= int(v) < len(names):
            return str(names[int(v)])
        return str(v)

    n = min(len(wrong), max_images)
    ncols = max(1, min(n, 5))
    nrows = max(1, math.ceil(n / ncols))
    fig = _figure(2.2 * ncols, 2.5 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    scale = 255.0 if X.max() > 1.0 else 1.0
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong[:n]):
        img = X[:, i].reshape(shape).astype(np.float64) / scale
        ax.imshow(np.clip(img, 0, 1), cmap=None if len(shape) == 3 else "gray")
        ax.set_title(f"Prediction: {name(pred[i])}\nClass: {name(y[i])}", fontsize=8)
    if n == 0:
        axes[0, 0].text(0.5, 0.5, "no mislabeled images", ha="center", va="center")
    fig.suptitle(title or f"mislabeled: {len(wrong)} of {y.size}" + (f" (first {n})" if n < len(wrong) else ""))
    return fig
