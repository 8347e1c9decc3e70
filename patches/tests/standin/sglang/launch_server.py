"""Stand-in for sglang/launch_server.py @046a9e4088f7: run_server(server_args) at line 17."""


def run_server(server_args):
    from sglang.srt.entrypoints.http_server import launch_server

    launch_server(server_args)
