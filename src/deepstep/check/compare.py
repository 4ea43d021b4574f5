"""Compare a learner's output with the reference's and say, in the learner's terms, what differs.

``first_difference(expected, got, names)`` walks both structures (arrays,
tuples, lists, dicts, numbers) and returns a :class:`Difference` for the first
place they part, or ``None``. Each output is named as the lesson names it
(``Z``, ``cache``, ``grads["dW1"]``, ``caches[1]: layer 2's ((A_prev, W, b), Z)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTOL = 1e-6
ATOL = 1e-9


@dataclass
class Difference:
    where: str          # e.g. 'dW' or 'caches[0] (layer 1) linear cache W'
    kind: str           # "shape", "value", "type", "keys", "length"
    message: str        # one clause: what was expected, what came back
    expected: object = None
    got: object = None


def fmt(value, limit=4) -> str:
    """A short, readable rendering of an array or number (first few values)."""
    if isinstance(value, np.ndarray) or np.isscalar(value) and isinstance(value, (float, np.floating)):
        a = np.asarray(value, dtype=np.float64) if np.asarray(value).dtype.kind in "biuf" else np.asarray(value)
        if a.ndim == 0:
            return f"{float(a):.8g}"
        flat = a.ravel()
        body = ", ".join(f"{float(v):.8g}" for v in flat[:limit])
        more = ", ..." if flat.size > limit else ""
        return f"[{body}{more}] (shape {a.shape})"
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return f"a {kind} of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if value is None:
        return "None"
    return f"{type(value).__name__} {value!r}"[:80]


def _is_number(x):
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _as_array(x):
    if isinstance(x, np.ndarray):
        return x
    if _is_number(x):
        return np.asarray(x)
    return None


def describe_path(path, names):
    """'grads["dW1"]' style text for a path of indexes/keys under the named outputs."""
    if not path:
        return names[0] if len(names) == 1 else "the result"
    head, rest = path[0], path[1:]
    if len(names) > 1 and isinstance(head, int) and head < len(names):
        text = names[head]
    elif len(names) == 1:
        text, rest = names[0], path
    else:
        text = f"result[{head}]"
    for p in rest:
        text += f"[{p!r}]" if isinstance(p, str) else f"[{p}]"
    return text


def first_difference(expected, got, names=("result",), rtol=RTOL, atol=ATOL, _path=()):
    """The first place ``got`` parts from ``expected``; ``None`` when they agree."""
    # A single output: names has one entry and the result is not a tuple of outputs.
    where = describe_path(_path, names)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return Difference(where, "type", f"{where} should be a dict with keys {sorted(expected)}, got {fmt(got)}",
                              expected, got)
        missing = [k for k in expected if k not in got]
        if missing:
            return Difference(where, "keys", f"{where} has no {', '.join(map(repr, missing))} "
                              f"(it has {sorted(map(str, got))}; expected {sorted(expected)})", expected, got)
        prefixes = {str(k).rstrip("0123456789") for k in expected}
        extra = [k for k in got if k not in expected and str(k).rstrip("0123456789") in prefixes]
        if extra:
            return Difference(where, "keys", f"{where} has {', '.join(map(repr, extra))} too "
                              f"(expected {sorted(expected)})", expected, got)
        for k in expected:
            d = first_difference(expected[k], got[k], names, rtol, atol, _path + (k,))
            if d:
                return d
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return Difference(where, "type", f"{where} should be a tuple of {len(expected)}, got {fmt(got)}",
                              expected, got)
        if len(got) != len(expected):
            return Difference(where, "length", f"{where} has {len(got)} entries, expected {len(expected)}",
                              expected, got)
        for i, (e, g) in enumerate(zip(expected, got)):
            d = first_difference(e, g, names, rtol, atol, _path + (i,))
            if d:
                return d
        return None
    e = _as_array(expected)
    if e is None:                      # strings, None: compare exactly
        if expected != got:
            return Difference(where, "value", f"{where}: expected {fmt(expected)}, got {fmt(got)}", expected, got)
        return None
    g = _as_array(got)
    if g is None:
        try:
            g = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return Difference(where, "type", f"{where} should be a numpy array of shape {e.shape}, got {fmt(got)}",
                              expected, got)
        if g.dtype == object:
            return Difference(where, "type", f"{where} should be a numpy array of shape {e.shape}, got {fmt(got)}",
                              expected, got)
    if g.shape != e.shape:
        return Difference(where, "shape", f"{where} has shape {g.shape}, expected {e.shape}", e, g)
    if g.dtype.kind not in "biuf":
        return Difference(where, "type", f"{where} has dtype {g.dtype}, expected numbers", e, g)
    ef, gf = e.astype(np.float64), g.astype(np.float64)
    same_nan = np.isnan(ef) & np.isnan(gf)
    with np.errstate(invalid="ignore"):
        close = np.isclose(gf, ef, rtol=rtol, atol=atol) | same_nan | (ef == gf)
    if not close.all():
        return Difference(where, "value", f"{where}: expected {fmt(e)}, got {fmt(g)}", e, g)
    return None


def same(expected, got, rtol=RTOL, atol=ATOL) -> bool:
    return first_difference(expected, got, rtol=rtol, atol=atol) is None
