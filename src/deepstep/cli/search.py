"""The ``deepstep search`` command: options in, :func:`deepstep.search.run_search`, a summary out."""

from __future__ import annotations

import click

from ..errors import InvalidParameterError
from ..search import METHODS, TASKS, load_search_data, run_search
from ..search.backends import BACKENDS
from ..search.report import format_value
from ..search.space import parse_param, parse_value
from .options import label_column as _label
from .runtime import check_distinct, check_output_path

#: What ``search`` writes into ``--out``.
SEARCH_FILES = ("results.csv", "best_params.json", "best_model.npz", "search.png")


def check_search_outputs(out_dir, inputs):
    """Before any work: the files ``search`` writes into ``out_dir`` replace no input and no device."""
    import os

    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise click.UsageError(f"--out {out_dir} is a file; give a folder for the search results.")
    outputs = [("--out", os.path.join(out_dir, name)) for name in SEARCH_FILES]
    if os.path.isdir(out_dir):
        for option, path in outputs:
            check_output_path(path, option)
    check_distinct(inputs, outputs)


@click.command("search", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--dataset", metavar="NAME",
              help="bundled dataset: breast_cancer (default), digits, moons, circles")
@click.option("--data", "data_path", type=click.Path(), metavar="FILE",
              help="data file: .csv (one example per row), .npz, .h5 or .mat")
@click.option("--test-data", "test_path", type=click.Path(), metavar="FILE",
              help="held-out data scored by the best model")
@click.option("--label-column", metavar="INDEX|NAME", help="CSV label column (default: the last)")
@click.option("--task", type=click.Choice(TASKS), default="auto", show_default=True)
@click.option("--method", type=click.Choice(METHODS), default="random", show_default=True,
              help="random candidates, a grid, or successive halving with epochs as the resource")
@click.option("--n-candidates", "-n", type=int, default=10, show_default=True,
              help="candidates for random and halving searches")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=SPEC",
              help="search over NAME: a|b|c, log:LOW:HIGH[:N], uniform:LOW:HIGH[:N] or int:LOW:HIGH[:N] "
                   "(repeat; replaces the default space; quote the | in a shell). Example: "
                   "-p learning_rate=log:1e-4:1e-1 -p 'layers=32|64,32'")
@click.option("--set", "-s", "sets", multiple=True, metavar="NAME=VALUE",
              help="hold a hyperparameter fixed, e.g. --set optimizer=momentum (repeat)")
@click.option("--epochs", type=int, default=50, show_default=True,
              help="epochs per fit (halving: the most epochs, for the last round)")
@click.option("--min-epochs", type=int, default=None, help="halving: epochs in the first round")
@click.option("--factor", type=int, default=3, show_default=True, help="halving: keep 1/factor each round")
@click.option("--cv", type=int, default=3, show_default=True, help="cross-validation folds")
@click.option("--validation", type=float, default=None, metavar="FRACTION",
              help="instead of --cv: one split holding out this fraction")
@click.option("--scoring", default=None, help="scikit-learn scorer [default: accuracy or r2]")
@click.option("--seed", type=int, default=0, show_default=True,
              help="seeds candidates, folds and networks: same seed, same result on any backend")
@click.option("--backend", type=click.Choice(BACKENDS), default="loky", show_default=True,
              help="loky = local processes on all cores; dask = a Dask cluster; ray = Ray")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler (tcp://HOST:8786) or Ray address; without it --backend dask "
                   "starts a local cluster")
@click.option("--n-jobs", type=int, default=-1, show_default=True, help="parallel fits (local backends)")
@click.option("--blas-threads", type=int, default=1, show_default=True, help="BLAS threads inside each fit")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="search-results",
              show_default=True, help="folder for results.csv, best_params.json, best_model.npz, search.png")
@click.option("--top", type=int, default=5, show_default=True, help="candidates to list")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar; only the best result")
def search_command(dataset, data_path, test_path, label_column, task, method, n_candidates, params, sets,
                   epochs, min_epochs, factor, cv, validation, scoring, seed, backend, scheduler, n_jobs,
                   blas_threads, out_dir, top, quiet):
    """Search hyperparameters with cross-validation, locally or on a Dask cluster.

    With no options: 10 random candidates over the lesson's hyperparameters
    (learning rate and L2 on a log scale, layers, activation, momentum,
    mini-batch size, dropout) on the bundled breast-cancer data, 3-fold CV,
    on all local cores.

    \b
    Examples:
      deepstep search --dataset digits -n 20 --epochs 30
      deepstep search --method grid -p learning_rate=log:1e-4:1e-1:4 -p "layers=32|64,32"
      deepstep search --method halving -n 27 --epochs 81
      deepstep search --backend dask --scheduler tcp://10.0.0.5:8786 -n 100
    """
    if dataset and data_path:
        raise click.UsageError("Give either --data FILE or --dataset NAME, not both.")
    if test_path and not data_path:
        raise click.UsageError("--test-data needs --data (bundled datasets come with their test split).")
    check_search_outputs(out_dir, [("--data", data_path), ("--test-data", test_path)])
    if n_jobs == 0:                                   # before the data is loaded
        raise click.UsageError("--n-jobs 0 runs nothing: give a number of parallel fits, or -1 for all cores.")
    if blas_threads < 1:
        raise click.UsageError(f"--blas-threads must be at least 1. Got {blas_threads}.")
    X, y, Xt, yt, _ = load_search_data(dataset, data_path, _label(label_column), test_path)
    space = None
    if params:
        space = dict(parse_param(p, method) for p in params)
    fixed = {}
    for s in sets:
        if "=" not in s:
            raise InvalidParameterError(f"--set needs NAME=VALUE. Got {s!r}.")
        k, v = s.split("=", 1)
        fixed[k.strip().replace("-", "_")] = parse_value(v)
    if "layers" in fixed and not isinstance(fixed["layers"], tuple):
        fixed["layers"] = () if fixed["layers"] is None else (fixed["layers"],)
    # No preprocess from the data: images are standardized per feature, as DeepNetwork() and train do.
    res = run_search(X, y, task=task, method=method, space=space, n_candidates=n_candidates,
                     cv=cv if validation is None else None, validation=validation, scoring=scoring,
                     fixed=fixed, seed=seed, epochs=epochs, min_epochs=min_epochs, factor=factor,
                     backend=backend, scheduler=scheduler, n_jobs=n_jobs, blas_threads=blas_threads,
                     X_test=Xt, y_test=yt, out_dir=out_dir, progress=not quiet,
                     announce=None if quiet else (lambda line: click.echo(line, err=True)))
    if not quiet:
        _print_top(res, top)
    click.echo(f"best {res.scoring}: {res.best_score:.4f} (mean over validation folds)")
    click.echo("best hyperparameters: " + " ".join(f"{k}={format_value(v)}" for k, v in res.best_params.items()))
    if res.test_score is not None:
        click.echo(f"test {res.scoring} of the refitted best model: {res.test_score:.4f}")
    labels = (("csv", "results"), ("params", "best params"), ("model", "best model"), ("plot", "plot"))
    for key, label in labels:
        click.echo(f"{label}: {res.files[key]}")


def _print_top(res, top):
    rows = sorted(res.rows, key=lambda r: (r["rank"], r["candidate"]))
    if "iter" in rows[0]:
        last = max(r["iter"] for r in rows)
        rows = [r for r in rows if r["iter"] == last] + [r for r in rows if r["iter"] != last]
    names = [k for k in res.best_params]
    click.echo(f"top {min(top, len(rows))} of {len(rows)} ({res.seconds:.1f} s on {res.backend}):")
    for r in rows[:top]:
        hp = " ".join(f"{k}={format_value(r[k])}" for k in names if k in r)
        click.echo(f"  {r['mean_test_score']:.4f} ± {r['std_test_score']:.4f}  "
                   f"fit {r['mean_fit_time']:.2f}s  {hp}")
