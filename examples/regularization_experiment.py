"""The published regularization experiment, through deepstep.steps and through DeepNetwork.

Prints the table (setting, train accuracy, test accuracy, published) for each
engine and saves the decision-boundary and cost plots into --out-dir (default
out/experiments/, a scratch folder). The same as ``deepstep experiment regularization``;
see docs/experiments.md.

Usage::

    python examples/regularization_experiment.py [--out-dir DIR] [--quick] [--engine steps|model|both] [--data-dir DIR]

The committed images in docs/img come from the full run of both engines; regenerate
them (and only then write into docs/img) from the repository root with::

    python examples/regularization_experiment.py --out-dir docs/img
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepstep.experiments import DEFAULT_OUT_DIR, run_experiment


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help=f"folder for the plots (default: {DEFAULT_OUT_DIR}; "
                             f"docs/img regenerates the committed images)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the folder holding data.mat (default: ../shared/data next to the repository)")
    parser.add_argument("--quick", action="store_true", help="a smoke run with far fewer iterations")
    parser.add_argument("--engine", choices=("steps", "model", "both"), default="both")
    args = parser.parse_args(argv)
    engines = ("steps", "model") if args.engine == "both" else (args.engine,)
    for engine in engines:
        result = run_experiment("regularization", args.out_dir, quick=args.quick, engine=engine,
                                data_dir=args.data_dir)
        print(result.table())
        for path in result.plots:
            print(f"saved {path}")
        print()


if __name__ == "__main__":
    main()
