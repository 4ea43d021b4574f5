"""deepstep's version: one leaf module, read by the package, the model files and pyproject.toml."""

__version__ = "0.1.0"
