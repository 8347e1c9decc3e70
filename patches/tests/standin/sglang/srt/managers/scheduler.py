"""Stand-in for the scheduler subprocess entry, used by the launcher test.

Upstream starts the scheduler with multiprocessing; under the spawn start
method the child re-imports the parent's __main__ module first, which is how
scorecar installs its model-side patches there. This entry reports whether the
patched RadixAttention is what the child sees.
"""


def run_scheduler_process(conn):
    from sglang.srt.layers.radix_attention import RadixAttention

    conn.send(hasattr(RadixAttention.forward, "__scorecar_original__"))
    conn.close()
