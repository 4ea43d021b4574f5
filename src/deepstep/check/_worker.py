"""The checker's subprocess: import a learner's file, check each lesson function it defines.

Run as ``python -m deepstep.check._worker FILE RESULTS FUNCTION_TIMEOUT IMPORT_TIMEOUT EXAMPLES [NAME ...]``
by :mod:`deepstep.check.runner`, never imported into the checker's process. It
writes one JSON object per line to RESULTS as it goes (``found``, ``start``,
``result``, ``done``), so a learner's file that hangs or kills the process
still leaves what was learned. The learner's prints go to a bounded sink.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import signal
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from .. import steps as S
from .cases import FUNCTIONS, SPECS, HypothesisDraw, RngDraw
from .compare import first_difference, fmt

CANDIDATE_SEEDS = (1, 2, 3, 0)     # the lesson's graded functions seed NumPy inside with these


class TimeLimit(BaseException):
    """Raised by the alarm: the learner's code ran past its time limit."""


_timed_out = False


def _alarm(signum, frame):
    global _timed_out
    _timed_out = True
    raise TimeLimit()


@contextlib.contextmanager
def time_limit(seconds):
    global _timed_out
    _timed_out = False
    old = signal.signal(signal.SIGALRM, _alarm)
    # Fire again every 0.2 s after the first, so code replayed after the first
    # interruption (a shrinking search, a learner's except clause) stops too.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Sink:
    """A stand-in for stdout/stderr: counts what the learner prints, keeps the start."""

    def __init__(self, keep=2000):
        self.keep, self.head, self.count = keep, [], 0

    def write(self, text):
        text = str(text)
        if self.count < self.keep:
            self.head.append(text[: self.keep - self.count])
        self.count += len(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    @property
    def text(self):
        return "".join(self.head)


@dataclass
class Failure:
    context: str
    kind: str                 # "raised", "mutated", "differs", "timeout"
    message: str
    args: tuple = ()
    seed: int = 0
    exc: BaseException | None = None
    diff: object = None


class Found(Exception):
    def __init__(self, failure):
        super().__init__(failure.message)
        self.failure = failure


# --- running one case -------------------------------------------------------------------------
def describe_args(spec, args):
    parts = []
    for name, a in zip(spec.arg_names, args):
        if isinstance(a, np.ndarray):
            parts.append(f"{name} {a.shape}")
        elif isinstance(a, dict):
            shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in list(a.items())[:6])
            parts.append(f"{name} {{{shapes}{', ...' if len(a) > 6 else ''}}}")
        elif isinstance(a, (list, tuple)) and a and all(isinstance(x, (int, np.integer)) for x in a):
            parts.append(f"{name} {list(a)}")
        elif isinstance(a, (list, tuple)):
            parts.append(f"{name} (a {type(a).__name__} of {len(a)})")
        elif isinstance(a, str):
            parts.append(f"{name} {a!r}")
        elif isinstance(a, float):
            parts.append(f"{name} {fmt(a)}")
        else:
            parts.append(f"{name} {a!r}")
    return "with " + ", ".join(parts)


def _normalise(spec, expected, got):
    if spec.compare_first and isinstance(got, (tuple, list)) and len(got) != len(expected) \
            and len(got) >= spec.compare_first:
        return tuple(expected[: spec.compare_first]), tuple(got[: spec.compare_first])
    return expected, got


def _names(spec):
    return spec.outputs


def call_seeded(fn, args, seed, random):
    if random:
        np.random.seed(seed)
    with np.errstate(all="ignore"):
        return fn(*copy.deepcopy(args))


def run_case(spec, fn, args, context, seed=0):
    if _timed_out:
        raise TimeLimit()
    try:
        expected = call_seeded(spec.reference, args, seed, spec.random)
    except Exception:
        return None                      # not a case the lesson's function accepts: skip it
    pristine = copy.deepcopy(args)
    learner_args = copy.deepcopy(args)
    if spec.random:
        np.random.seed(seed)
    try:
        with np.errstate(all="ignore"):
            got = fn(*learner_args)
    except TimeLimit:
        raise
    except SystemExit as exc:
        return Failure(context, "raised", f"called exit({exc.code!r}){_learner_line(fn, exc)}", args, seed, exc)
    except Exception as exc:  # noqa: BLE001 - any error in the learner's code is a finding
        text = str(exc)[:200]
        return Failure(context, "raised", f"raised {type(exc).__name__}{': ' + text if text else ''}"
                       f"{_learner_line(fn, exc)}", args, seed, exc)
    for i, (before, after) in enumerate(zip(pristine, learner_args)):
        if i in spec.may_mutate:
            continue
        if first_difference(before, after, (spec.arg_names[i],), rtol=0, atol=0):
            return Failure(context, "mutated", f"changes its input {spec.arg_names[i]} in place", args, seed)
    e, g = _normalise(spec, expected, got)
    diff = first_difference(e, g, _names(spec), spec.rtol, spec.atol)
    if diff and spec.random and diff.kind == "value":
        # Seeded inside, as the lesson's graded version does: compare with the
        # reference drawn from that seed; if none agrees, report the difference
        # that is not about the random values, when there is one.
        best = None
        for k in CANDIDATE_SEEDS:
            d = first_difference(_normalise(spec, call_seeded(spec.reference, args, k, True), got)[0], g,
                                 _names(spec), spec.rtol, spec.atol)
            if d is None:
                return None
            if d.kind != "value" or d.where != diff.where:
                diff, best = d, None
                break
            r = _correlation(d.expected, d.got)
            if r > 0.99 and (best is None or r > best[0]):
                best = (r, d)
        if best:                         # the learner seeds with k: show the lesson's values for that seed
            diff = best[1]
    if diff and diff.kind == "value" and spec.name.startswith("initialize_parameters") and spec.random \
            and _same_distribution(spec, fn):
        return None              # seeded with a seed of its own: the draws differ, their distribution is right
    if diff:
        return Failure(context, "differs", diff.message, args, seed, diff=diff)
    return None


def _correlation(a, b):
    a, b = np.ravel(np.asarray(a, dtype=np.float64)), np.ravel(np.asarray(b, dtype=np.float64))
    if a.size < 2 or a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(abs(np.corrcoef(a, b)[0, 1]))


BIG_INIT_ARGS = {"initialize_parameters": (300, 200, 100)}


def _same_distribution(spec, fn):
    """A learner's random initialization that seeds NumPy itself: are its weights drawn as the lesson's?

    On a large network, each W[l] must have the reference's mean (about 0)
    and standard deviation (within 5%), and each b[l] must match exactly.
    """
    args = BIG_INIT_ARGS.get(spec.name, ([300, 200, 100],))
    try:
        want = call_seeded(spec.reference, args, 0, True)
        got = call_seeded(fn, args, 12345, True)
    except Exception:  # noqa: BLE001
        return False
    if not isinstance(got, dict) or set(got) != set(want):
        return False
    for k, w in want.items():
        g = np.asarray(got[k], dtype=np.float64)
        if g.shape != w.shape:
            return False
        if k.startswith("b"):
            if not np.array_equal(g, w):
                return False
            continue
        sd = float(np.std(w))
        if sd == 0:
            if np.any(g):
                return False
            continue
        if abs(float(np.std(g)) / sd - 1) > 0.05 or abs(float(np.mean(g))) > 0.1 * sd:
            return False
    return True


def _distribution_cause(spec, fn):
    """For a random initialization that matched no known bug: how its weights' draws differ."""
    args = BIG_INIT_ARGS.get(spec.name, ([300, 200, 100],))
    try:
        want = call_seeded(spec.reference, args, 0, True)
        got = call_seeded(fn, args, 12345, True)
        w, g = np.asarray(want["W1"], dtype=np.float64), np.asarray(got["W1"], dtype=np.float64)
    except Exception:  # noqa: BLE001
        return ""
    if g.shape != w.shape or not np.isfinite(g).all():
        return ""
    if np.std(w) > 0 and np.min(g) >= 0:
        return "np.random.rand (uniform on [0, 1), never negative) instead of np.random.randn (normal)"
    if np.std(w) > 0 and np.std(g) > 0:
        ratio = float(np.std(g) / np.std(w))
        if abs(ratio - 1) > 0.05:
            return (f"the weights' spread is {ratio:.3g} times the lesson's: check the scale that multiplies "
                    f"np.random.randn(n[l], n[l-1])")
    return ""


def search(spec, fn, examples):
    """Random shapes and values (hypothesis); the smallest failing case, or None."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              phases=[Phase.generate, Phase.shrink], print_blob=False)
    @given(st.data())
    def prop(data):
        d = HypothesisDraw(data)
        args = spec.args(d)
        seed = d.seed() if spec.random else 0
        failure = run_case(spec, fn, args, describe_args(spec, args), seed)
        if failure:
            raise Found(failure)

    try:
        prop()
    except Found as found:
        return found.failure
    return None


def _learner_line(fn, exc):
    """' at line 12: dZ[Z <= 0] = 0' for the deepest frame in the learner's file."""
    file = getattr(getattr(fn, "__code__", None), "co_filename", None)
    if not file:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    if not frames:
        return ""
    f = frames[-1]
    return f" at line {f.lineno}: {(f.line or '').strip()[:100]}"


# --- diagnosis --------------------------------------------------------------------------------
CACHE_LAYOUTS = {
    "relu_backward": "activation cache is Z", "sigmoid_backward": "activation cache is Z",
    "linear_backward": "linear cache is (A_prev, W, b)",
    "linear_activation_backward": "layer cache is (linear_cache, activation_cache) = ((A_prev, W, b), Z)",
    "L_model_backward": "caches is a list of layer caches, caches[l-1] = ((A[l-1], W[l], b[l]), Z[l])",
    "L_model_backward_with_regularization": "caches is L_model_forward's, caches[l-1] = ((A[l-1], W[l], b[l]), Z[l])",
    "L_model_backward_with_dropout": "caches[l-1] is (linear_cache, Z, D)",
}
LAYERED = {"initialize_parameters_deep", "L_model_forward", "L_model_backward", "update_parameters",
           "initialize_parameters_zeros", "initialize_parameters_random", "initialize_parameters_he",
           "update_parameters_with_gd", "initialize_velocity", "update_parameters_with_momentum",
           "initialize_adam", "update_parameters_with_adam", "L_model_forward_with_dropout",
           "L_model_backward_with_dropout", "L_model_backward_with_regularization",
           "compute_cost_with_regularization"}
OFF_BY_ONE = ("an off-by-one layer loop: the layers are numbered 1 .. L with L = len(parameters) // 2 "
              "(the hidden ones: for l in range(1, L))")


def off_by_one(spec):
    if spec.name.startswith("initialize_parameters"):
        return ("an off-by-one layer loop: W[l] and b[l] for l = 1 .. L-1 with L = len(layer_dims): "
                "for l in range(1, L)")
    if spec.name.startswith("update_parameters") or spec.name.startswith("initialize_"):
        return ("an off-by-one layer loop: every layer l = 1 .. L (L = len(parameters) // 2): for l in range(L) "
                "with 'W' + str(l + 1), or for l in range(1, L + 1)")
    if "backward" in spec.name:
        return ("an off-by-one layer loop: after the output layer L, the hidden layers go back from L-1 to 1: "
                "for l in reversed(range(L - 1)) with caches[l] and grads['dA' + str(l + 1)]")
    return OFF_BY_ONE


def cause_for_exception(spec, exc):
    text = str(exc)
    if isinstance(exc, KeyError) and spec.name in LAYERED:
        return off_by_one(spec)
    if isinstance(exc, IndexError) and spec.name in LAYERED:
        return "an off-by-one layer loop: caches[l - 1] is layer l's cache, l = 1 .. L"
    shapes = "align" in text or "matmul" in text or "broadcast" in text
    cache = CACHE_LAYOUTS.get(spec.name)
    if cache and isinstance(exc, (TypeError, ValueError, IndexError)) and not shapes:
        return "expects the cache in another layout: the lesson's " + cache
    if shapes:
        if spec.name in LAYERED:
            return "shapes that do not fit: " + off_by_one(spec)
        if spec.name == "linear_backward":
            return "a product in the wrong order or without a transpose: dW = 1/m np.dot(dZ, A_prev.T), " \
                   "dA_prev = np.dot(W.T, dZ)"
        if spec.name in ("linear_forward", "linear_activation_forward"):
            return "Z = np.dot(W, A) + b (W first)"
    return ""


def cause_for_shape(spec, diff):
    e, g = np.shape(diff.expected), np.shape(diff.got)
    where = diff.where
    leaf = where.split("[")[-1].strip("'\"]") if "[" in where else where
    if len(e) == 2 and e[1] == 1 and g == (e[0],):
        if leaf.startswith("db"):
            return "np.sum without keepdims=True: db = 1/m * np.sum(dZ, axis=1, keepdims=True) has shape (n[l], 1)"
        if leaf.startswith("b"):
            return f"a bias of shape ({e[0]},) instead of ({e[0]}, 1): b[l] = np.zeros((n[l], 1))"
        return f"a vector of shape ({e[0]},) instead of a column ({e[0]}, 1): keepdims=True, or reshape"
    if leaf.startswith("db") and len(e) == 2 and e[1] == 1:
        if g in ((), (1,), (1, 1)):
            return "np.sum over every entry: sum over the examples only, np.sum(dZ, axis=1, keepdims=True)"
        return "db must sum over the examples (the columns): np.sum(dZ, axis=1, keepdims=True)"
    if e == () and g in ((1, 1), (1,)):
        return "the cost is not squeezed to a number: cost = np.squeeze(cost)"
    if spec.name in ("linear_forward", "linear_activation_forward") and len(g) == 2 and len(e) == 2 and \
            g[0] == e[0] and leaf in ("Z", "A"):
        return ("Z = np.dot(W, A) + b has shape (n[l], m): a transposed b or A broadcasts to another shape; "
                "add b of shape (n[l], 1) as it is")
    if len(e) == 2 and g == e[::-1]:
        if leaf.startswith("W"):
            return f"{leaf} transposed: W[l] has shape (n[l], n[l-1])"
        return f"{where} transposed"
    return ""


def _agrees(spec, fn, variant, args, seed):
    try:
        got = call_seeded(fn, args, seed, spec.random)
    except BaseException:  # noqa: BLE001
        return False
    seeds = (seed,) + (CANDIDATE_SEEDS if spec.random else ())
    for s in seeds:
        try:
            want = call_seeded(variant, args, s, spec.random)
        except Exception:  # noqa: BLE001
            continue
        e, g = _normalise(spec, want, got)
        if first_difference(e, g, _names(spec), spec.rtol, spec.atol) is None:
            return True
    return False


def diagnose(spec, fn, failure):
    if failure.kind == "timeout":
        return "an endless loop? (a while loop whose condition never changes)"
    if failure.kind == "mutated":
        return spec.mutation_cause or "it writes into an input array: copy it first, np.array(x, copy=True)"
    if failure.kind == "raised":
        return cause_for_exception(spec, failure.exc)
    cases = [(failure.args, failure.seed)]
    cases += [(make(), 0) for _, make in spec.published]
    cases += [(spec.args(RngDraw(k)), k) for k in (11, 12)]
    for cause, variant in spec.variants:
        if all(_agrees(spec, fn, variant, a, s) for a, s in cases):
            return cause
    diff = failure.diff
    if diff.kind == "value" and spec.random and spec.name.startswith("initialize_parameters"):
        cause = _distribution_cause(spec, fn)
        if cause:
            return cause
    if diff.kind == "shape":
        cause = cause_for_shape(spec, diff)
        if cause:
            return cause
    if diff.kind in ("type", "length", "keys"):
        if diff.kind in ("keys", "length") and spec.name in LAYERED:
            return off_by_one(spec)
        return "the returns in another layout: the lesson's are " + spec.layout
    return ""


# --- one function, in isolation ---------------------------------------------------------------
@contextlib.contextmanager
def isolated(namespace, keep):
    """Replace every other lesson function in the learner's module by the reference one."""
    saved = {}
    for name in FUNCTIONS:
        if name != keep and name in namespace:
            saved[name] = namespace[name]
            namespace[name] = getattr(S, name)
    try:
        yield
    finally:
        namespace.update(saved)


def check_one(spec, module, examples, seconds):
    fn = getattr(module, spec.name)
    failure = None
    try:
        with time_limit(seconds), isolated(module.__dict__, spec.name):
            for label, make in spec.published:
                failure = run_case(spec, fn, make(), "on " + label)
                if failure:
                    break
            if failure is None:
                failure = search(spec, fn, examples)
            if failure is not None:
                failure.message = f"{failure.context}: {failure.message}"
                cause = diagnose(spec, fn, failure)
                return {"ok": False, "message": failure.message, "cause": cause}
    except TimeLimit:
        return {"ok": False, "message": f"did not finish within {seconds:g} s",
                "cause": "an endless loop? (a loop whose condition never changes)"}
    return {"ok": True, "message": "", "cause": ""}


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier():
        name = "learner_solution"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import_error(path, exc):
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(tb) if os.path.abspath(f.filename) == os.path.abspath(path)), None)
    if isinstance(exc, SyntaxError):
        line = exc.lineno
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {exc}{where}"


def main(argv):
    path, results, fn_timeout, import_timeout, examples, *only = argv
    fn_timeout, import_timeout, examples = float(fn_timeout), float(import_timeout), int(examples)
    out = open(results, "w", encoding="utf-8", buffering=1)

    def emit(**record):
        out.write(json.dumps(record) + "\n")
        out.flush()

    sink = Sink()
    sys.stdout = sys.stderr = sink
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with time_limit(import_timeout):
            module = load(path)
    except TimeLimit:
        emit(event="import_error", message=f"importing it did not finish within {import_timeout:g} s",
             cause="code at the top level that loops or trains: put it under if __name__ == \"__main__\":",
             printed=sink.count)
        return 0
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: the learner's file called exit()
        emit(event="import_error", message=_import_error(path, exc), cause="", printed=sink.count)
        return 0
    names = [n for n in FUNCTIONS if callable(getattr(module, n, None))
             and getattr(getattr(module, n), "__module__", None) == module.__name__
             and (not only or n in only)]
    emit(event="found", names=names, printed=sink.count)
    for name in names:
        emit(event="start", name=name)
        result = check_one(SPECS[name], module, examples, fn_timeout)
        emit(event="result", name=name, printed=sink.count, **result)
    emit(event="done", printed=sink.count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
