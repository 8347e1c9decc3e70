"""Make `scorecar_sglang` importable when pytest runs from the repository root.

The package is not installed (Debian's python3 has no pip here); tests import it
from this directory, the same way the launcher finds it through PYTHONPATH.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
