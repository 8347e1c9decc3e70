"""Import the real SGLang release in this test process, the way patches/cpu/serve.sh runs it.

serve.sh sets SGLANG_USE_CPU_ENGINE=1, hides CUDA, and puts patches/cpu/site on
PYTHONPATH so that its sitecustomize replaces the CUDA-only sgl_kernel with a
stub whose every kernel raises when called. pytest does not start with that
PYTHONPATH, so this module applies the same settings before SGLang is imported.
"""

import importlib.util
import os

SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cpu", "site", "sitecustomize.py")


def prepare() -> None:
    os.environ.setdefault("SGLANG_USE_CPU_ENGINE", "1")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    os.environ["SCORECAR_STUB_SGL_KERNEL"] = "1"
    spec = importlib.util.spec_from_file_location("scorecar_cpu_sitecustomize", SITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # installs the stub finder when sgl_kernel cannot load
