"""Session fixtures: one stock and one patched real SGLang 0.5.23 server on CPU.

Both start in parallel the first time a test asks for either (about 40 s on an
idle machine, a few minutes on a loaded one) and stop at the end of the session.
Both run with --skip-server-warmup (serve.sh), which is where SGLang's own
post-warmup GC freeze races the HTTP server's start. The stock server logs at
debug level so that its GC freeze, if it happens, shows in its log.
"""

import pytest

from real_server import start_all

_SERVERS = {}


@pytest.fixture(scope="session")
def sglang_servers():
    if not _SERVERS:
        _SERVERS.update(start_all([
            ("stock", False, ["--log-level", "debug"]),
            ("patched", True, []),
        ]))
    yield _SERVERS


def pytest_sessionfinish(session, exitstatus):
    for s in _SERVERS.values():
        s.stop()


@pytest.fixture(scope="session")
def stock_server(sglang_servers):
    return sglang_servers["stock"].require()


@pytest.fixture(scope="session")
def patched_server(sglang_servers):
    return sglang_servers["patched"].require()
