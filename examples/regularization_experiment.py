"""The published regularization experiment, through deepstep.steps and through DeepNetwork.

Prints the table (setting, train accuracy, test accuracy, published) for each
engine and saves the decision-boundary and cost plots into --out-dir (default
docs/img/). The same as ``deepstep experiment regularization``; see docs/experiments.md.

Usage::

    python examples/regularization_experiment.py [--out-dir docs/img] [--quick] [--engine steps|model|both]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepstep.experiments import run_experiment

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "img"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--quick", action="store_true", help="a smoke run with far fewer iterations")
    parser.add_argument("--engine", choices=("steps", "model", "both"), default="both")
    args = parser.parse_args(argv)
    engines = ("steps", "model") if args.engine == "both" else (args.engine,)
    for engine in engines:
        result = run_experiment("regularization", args.out_dir, quick=args.quick, engine=engine)
        print(result.table())
        for path in result.plots:
            print(f"saved {path}")
        print()


if __name__ == "__main__":
    main()
