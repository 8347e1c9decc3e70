"""Stand-in for sglang.srt.utils (only what the launcher calls)."""


def kill_process_tree(parent_pid, include_parent: bool = True, skip_pid=None):
    # Upstream kills child processes; the stand-in's children have already exited.
    return None
