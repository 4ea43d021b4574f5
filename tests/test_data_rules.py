"""One rule for the command line and Python alike: the input scaling of images, rows without a label.

Through the installed ``deepstep`` command (subprocesses) on the lesson's HDF5 files and on
scikit-learn's and palmerpenguins' data written to CSV.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepstep import DeepNetwork, persistence


def deepstep(*args, check=True):
    exe = shutil.which("deepstep", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from deepstep.cli import main; main()"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


# --- the input scaling: train's default is DeepNetwork()'s ------------------------------------------------
def test_train_scales_images_as_deepnetwork_does_and_says_so(cat_files, tmp_path):
    # bug: train scaled uint8 images by 1/255 while DeepNetwork() standardized them per feature
    out = tmp_path / "m.npz"
    r = deepstep("train", "--data", cat_files[0], "--epochs", 1, "--layers", 4, "--out", out)
    assert "input scaling: standardize" in r.stderr
    assert persistence.load(out).scaler.kind == DeepNetwork().hp.preprocess == "standardize"
    lesson = tmp_path / "lesson.npz"
    r = deepstep("train", "--data", cat_files[0], "--preset", "lesson", "--epochs", 1, "--out", lesson)
    assert "input scaling: divide255" in r.stderr and persistence.load(lesson).scaler.kind == "divide255"
