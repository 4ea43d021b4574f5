"""What the commands print and draw: metric lines, history tables, class names, cost plots, images."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..fs import save_figure
from .runtime import printable


def plot_history(history, path, title=None):
    """Save the learning curves (cost, validation cost, metrics) per epoch to ``path``.

    :func:`deepstep.plot.learning_curves`: a Figure drawn without pyplot, so the
    process's matplotlib backend is left as it is.
    """
    from ..plot import learning_curves

    save_figure(learning_curves(history, title=title or "deepstep training cost"), path)
    return path


def format_metrics(name, metrics, m):
    """'train accuracy: 0.9883  (log-loss 0.0420, 426 examples)'."""
    name = f"{name} " if name else ""
    if "accuracy" in metrics:
        head = f"{name}accuracy: {metrics['accuracy']:.4f}"
        rest = f"log-loss {metrics['log_loss']:.4f}, "
    else:
        head = f"{name}mse: {metrics['mse']:.6g}"
        rest = f"r2 {metrics['r2']:.4f}, "
    return f"{head}  ({rest}{m} examples)"


def history_tail(history, n=5):
    """The last ``n`` epochs of a History as a small text table."""
    keys = [k for k in history if k != "epoch" and history[k]]
    if not keys or not history.get("epoch"):
        return "(no training history)"
    rows = [["epoch", *keys]]
    for i in range(max(0, len(history["epoch"]) - n), len(history["epoch"])):
        rows.append([str(history["epoch"][i]), *(f"{history[k][i]:.6g}" for k in keys)])
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)


def class_label(model, label):
    """A label with its display name when the model knows one (e.g. 1 -> '1 (cat)')."""
    names = getattr(model, "class_names", None)
    value = label.item() if hasattr(label, "item") else label
    if names and isinstance(value, (int, np.integer)) and 0 <= int(value) < len(names):
        return printable(f"{value} ({names[int(value)]})")
    return printable(value)


def json_label(label):
    """A class label as JSON carries it: ints as ints, text as text (never the display string)."""
    value = label.item() if hasattr(label, "item") else label
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def class_name(model, label):
    """The class's name from the file (e.g. 'cat'), or None where the model knows none."""
    names = getattr(model, "class_names", None)
    value = label.item() if hasattr(label, "item") else label
    if names and isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= int(value) < len(names):
        return str(names[int(value)])
    return None


#: The image formats ``predict --image`` opens: raster formats a photo comes in. Never EPS/PS
#: (Pillow hands those to Ghostscript, a PostScript interpreter) or other exotic decoders.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")


def load_image(path, shape):
    """Read an image file as a column (h*w*c, 1) of uint8, resized to ``shape`` = (h, w, c).

    Only :data:`IMAGE_FORMATS` are opened; a decompression bomb (more pixels
    than Pillow's limit), a truncated or corrupt image, or a path that is not a
    regular file is a DataError naming the file.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    from ..fs import NotRegularFileError, open_regular

    h, w = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) > 2 else 1
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise DataError(f"The model's images have {channels} channels; only 1, 3 or 4 can be read.")
    try:
        fh = open_regular(path, "image file")
    except NotRegularFileError as exc:
        raise DataError(str(exc)) from None
    try:
        with fh, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fh, formats=list(IMAGE_FORMATS)) as img:
                img = img.convert(mode).resize((w, h), Image.LANCZOS)
                arr = np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError:
        raise DataError(f"{path} is not an image file deepstep reads "
                        f"({', '.join(IMAGE_FORMATS)}).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path} is refused as a possible decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:     # truncated or corrupt data
        raise DataError(f"{path} cannot be read as an image: {exc}.") from None
    return arr.reshape(-1, 1)                               # C order over (row, col, channel)
