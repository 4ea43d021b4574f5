"""Where a search's fits run: joblib backends (local processes, Dask, Ray) and a progress bar.

Every fit caps its own BLAS threads (the estimators' ``blas_threads``), so
the backends here only choose the workers; a Dask cluster gets the data
scattered once. The progress bar hooks joblib's completion callback, which
every backend calls.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ..errors import DeepstepError, InvalidParameterError, did_you_mean


@contextlib.contextmanager
def progress_bar(total_candidates, n_splits, enabled, file=None):
    """A tqdm bar of candidates done, fed by joblib's completion hook (every backend calls it)."""
    if not enabled:
        yield None
        return
    import joblib.parallel
    from tqdm.auto import tqdm

    bar = tqdm(total=total_candidates, unit="cand", desc="search", file=file or sys.stderr,
               dynamic_ncols=True, leave=True)
    done = {"fits": 0}
    original = joblib.parallel.Parallel.print_progress

    def print_progress(self):
        before = getattr(self, "_deepstep_done", 0)
        now = self.n_completed_tasks
        self._deepstep_done = now
        done["fits"] += now - before if now >= before else now
        n = min(done["fits"] // n_splits, total_candidates)
        if n != bar.n:
            bar.update(n - bar.n)
        return original(self)

    joblib.parallel.Parallel.print_progress = print_progress
    try:
        yield bar
    finally:
        joblib.parallel.Parallel.print_progress = original
        bar.close()


# --- backends: one context manager each, yielding a description of where the fits run ----------
@contextlib.contextmanager
def _local(backend, scheduler, n_jobs, X, y):
    from joblib import parallel_config

    with parallel_config(backend=backend, n_jobs=n_jobs):
        yield f"{backend} (n_jobs={n_jobs})"


@contextlib.contextmanager
def _sequential(backend, scheduler, n_jobs, X, y):
    from joblib import parallel_config

    with parallel_config(backend="sequential"):
        yield "sequential"


@contextlib.contextmanager
def _dask(backend, scheduler, n_jobs, X, y):
    """An existing cluster at ``scheduler``, or a local one; the data scattered to the workers once."""
    from joblib import parallel_config

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InvalidParameterError('The dask backend needs Dask: pip install "deepstep[distributed]".') from None
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except OSError as exc:
                raise DeepstepError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            where = f"dask cluster at {scheduler}"
        else:
            workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster))
            where = f"local dask cluster ({workers} workers)"
        n_workers = sum(client.nthreads().values())
        with parallel_config(backend="dask", scatter=[X, y], n_jobs=-1):
            yield f"{where}, {n_workers} worker threads"


@contextlib.contextmanager
def _ray(backend, scheduler, n_jobs, X, y):
    from joblib import parallel_config

    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise InvalidParameterError("The ray backend needs Ray: pip install ray.") from None
    register_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=scheduler or None)
    try:
        with parallel_config(backend="ray", n_jobs=n_jobs):
            yield f"ray ({scheduler or 'local'})"
    finally:
        if started:
            ray.shutdown()


_BACKEND_CONFIGS = {"loky": _local, "threading": _local, "sequential": _sequential, "dask": _dask, "ray": _ray}
BACKENDS = tuple(_BACKEND_CONFIGS)


def joblib_backend(backend, scheduler, n_jobs, X, y):
    """joblib's configuration for the chosen backend (and the cluster it needs), as a context manager."""
    if backend not in BACKENDS:
        raise InvalidParameterError(f"Unknown backend {backend!r}. Allowed: "
                                    f"{', '.join(map(repr, BACKENDS))}.{did_you_mean(backend, BACKENDS)}")
    if scheduler and backend not in ("dask", "ray"):
        raise InvalidParameterError(f"--scheduler {scheduler} needs --backend dask (or ray).")
    n_jobs = -1 if n_jobs is None else int(n_jobs)
    return _BACKEND_CONFIGS[backend](backend, scheduler, n_jobs, X, y)
