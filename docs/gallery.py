"""Draw the pictures of docs/plots.md (and the README's) into docs/img/.

    python docs/gallery.py [--data-dir ../shared/data]

Each picture is a deepstep.plot function on a small model trained here with a
fixed seed (the cat pictures need the lesson's cat images; skipped without them).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMG = HERE / "img"


def save(fig, name):
    path = IMG / name
    fig.savefig(path, dpi=90)
    print(f"wrote {path.relative_to(HERE.parent)}")


def moons():
    from sklearn.datasets import make_moons

    X, y = make_moons(400, noise=0.2, random_state=0)
    return X.T, y


def main(argv=None):
    from deepstep import DeepNetwork, plot
    from deepstep.callbacks import ProgressBar

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    args = ap.parse_args(argv)
    IMG.mkdir(exist_ok=True)

    X, y = moons()
    net = DeepNetwork(layers=(8, 4), epochs=300, learning_rate=0.01, validation_fraction=0.25, seed=0)
    buf, lines = _Terminal(), _Terminal()
    net.fit(X, y, callbacks=[ProgressBar(1, file=buf, mininterval=0)])
    DeepNetwork(layers=(8, 4), epochs=3, learning_rate=0.01, validation_fraction=0.25, seed=0).fit(
        X, y, callbacks=[ProgressBar(2, file=lines)])
    save(plot.learning_curves(net.history, title="moons, 8-4 relu network"), "learning_curves.png")
    save(plot.decision_boundary(net, X, y, title="moons: decision boundary"), "decision_boundary.png")
    save(plot.activation_maps(net, X), "activation_maps.png")
    save(plot.activation_histograms(net, X), "activation_histograms.png")
    save(progress_screenshot(buf.getvalue(), lines.getvalue()), "progress_bar.png")

    from sklearn.datasets import load_digits

    d = load_digits()
    Xd, yd = d.data.T, d.target
    dn = DeepNetwork(layers=(16,), epochs=40, learning_rate=0.01, preprocess="minmax", seed=0)
    dn.fit(Xd[:, :1200], yd[:1200])
    save(plot.confusion_matrix(dn, Xd[:, 1200:], yd[1200:], title="digits: test confusion matrix"),
         "confusion_matrix.png")
    save(plot.first_layer_weights(dn, shape=(8, 8), max_units=16), "first_layer_weights_digits.png")

    cat = Path(args.data_dir) / "train_catvnoncat.h5"
    if not cat.exists():
        print(f"{cat} not found: skipping the cat pictures", file=sys.stderr)
        return
    import h5py

    sets = {}
    for split in ("train", "test"):
        with h5py.File(Path(args.data_dir) / f"{split}_catvnoncat.h5", "r") as f:
            x = f[f"{split}_set_x"][:]
            names = [c.decode() for c in f["list_classes"][:]]
            sets[split] = (x.reshape(x.shape[0], -1).T, f[f"{split}_set_y"][:], names)
    (Xt, yt, names), (Xs, ys, _) = sets["train"], sets["test"]
    # One hidden layer of 10 units with a strong L2 penalty (test accuracy 0.80): the penalty wears the
    # random initial weights away, so what the units learned shows in their images.
    cn = DeepNetwork(layers=(10,), epochs=150, learning_rate=0.0005, batch_size=32, l2=5.0,
                     preprocess="divide255", seed=1)
    cn.fit(Xt, yt)
    cn.input_shape, cn.class_names = (64, 64, 3), names
    save(plot.mislabeled_images(cn, Xs, ys), "mislabeled_cats.png")
    save(plot.first_layer_weights(cn, max_units=10), "first_layer_weights_cats.png")


class _Terminal(io.StringIO):
    """A text buffer that says it is UTF-8, as a terminal does (tqdm then draws its Unicode bar)."""

    encoding = "utf-8"


def progress_screenshot(bar_text, lines_text):
    """The last frame of the verbose=1 bar and the verbose=2 lines, drawn as a terminal would show them."""
    from matplotlib.figure import Figure

    frames = [f for f in bar_text.replace("\n", "\r").split("\r") if f.strip()]
    lines = [">>> DeepNetwork(layers=(8, 4), epochs=300, verbose=1).fit(X, y)", frames[-1],
             ">>> DeepNetwork(layers=(8, 4), epochs=3, verbose=2).fit(X, y)", *lines_text.splitlines()]
    width = max(len(line) for line in lines)
    fig = Figure(figsize=(0.081 * width + 0.4, 0.26 * len(lines) + 0.25))
    fig.patch.set_facecolor("#1e1e1e")
    for i, line in enumerate(lines):
        fig.text(0.01, 1 - (i + 0.9) / (len(lines) + 0.8), line, family="DejaVu Sans Mono", fontsize=9,
                 color="#8ae234" if line.startswith(">>>") else "#d4d4d4", va="center")
    return fig


if __name__ == "__main__":
    main()
