"""Loaded by every Python process of the CPU SGLang server (PYTHONPATH points here).

The PyPI sglang wheel pulls in sglang-kernel, a CUDA-only build: importing it on a machine with
no libcuda raises ImportError, and a few SGLang modules import it unguarded even on the CPU
path. SGLang's own CPU test suite replaces the module when it cannot load; this does the same,
but every attribute is a function that raises when called, so a CUDA kernel that the CPU path
really needed fails loudly instead of silently doing nothing.

Active only when SCORECAR_STUB_SGL_KERNEL=1 and the real module fails to import.
"""

import importlib.abc
import importlib.machinery
import os
import sys


class _MissingKernel:
    def __init__(self, name):
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"sgl_kernel.{self.__name__} is a CUDA kernel; it does not exist on this CPU-only server"
        )

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _MissingKernel(f"{self.__name__}.{attr}")


def _module_getattr(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _MissingKernel(name)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []
        module.__getattr__ = _module_getattr
        module.SCORECAR_STUB = True


class _StubFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "sgl_kernel" or fullname.startswith("sgl_kernel."):
            return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)
        return None


def _install():
    try:
        import sgl_kernel  # noqa: F401
        return
    except (ImportError, OSError):
        for name in [m for m in sys.modules if m == "sgl_kernel" or m.startswith("sgl_kernel.")]:
            del sys.modules[name]
    sys.meta_path.insert(0, _StubFinder())


if os.environ.get("SCORECAR_STUB_SGL_KERNEL") == "1":
    _install()
