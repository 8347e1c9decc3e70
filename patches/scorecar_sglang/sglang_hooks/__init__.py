"""SGLang wiring for the scorecar extensions.

Every function here wraps one SGLang symbol listed in the checked-in manifest
(`patches/manifest/`), which cites the file, line and commit it was read from.
`install()` verifies the live signatures against that manifest before patching.
"""

from .install import install, installed, uninstall  # noqa: F401
from .options import Options  # noqa: F401
