"""SGLang wiring for the scorecar extensions.

Every function here wraps one SGLang symbol listed in the checked-in manifest
(`patches/manifest/`), which pins one SGLang release and cites file and line in it.
`install()` verifies the live signatures against that manifest before patching.

Importing this package stays cheap (no torch, no SGLang) so the launcher can
report a missing SGLang cleanly; the hook modules load on first install().
"""

from .options import Options  # noqa: F401  (standard library only)


def install(options=None, scope="all"):
    from .installer import install as _install

    return _install(options, scope)


def installed():
    from .installer import installed as _installed

    return _installed()


def uninstall():
    from .installer import uninstall as _uninstall

    return _uninstall()
