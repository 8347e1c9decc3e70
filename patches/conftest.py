"""Make `scorecar_sglang` importable when pytest runs from the repository root.

The package is not installed into the venv; tests import it
from this directory, the same way the launcher finds it through PYTHONPATH.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
