"""Stand-in for TokenizerManager.

Mirrors python/sglang/srt/managers/tokenizer_manager.py @016f96e5bc2b: the class
(line 209) mixes in TokenizerManagerScoreMixin, so a patched mixin method is
what its instances call; it holds server_args (line 218), context_len (266)
and max_req_input_len (268). generate_request normally sends the request to
the scheduler over ZMQ; here it hands it to an in-process scheduler object.
"""

from sglang.srt.managers.tokenizer_manager_score_mixin import TokenizerManagerScoreMixin


class TokenizerManager(TokenizerManagerScoreMixin):
    def __init__(self, server_args, port_args):
        self.server_args = server_args
        self.tokenizer = None
        self.context_len = 4096
        self.max_req_input_len = 4096
        self.scheduler = port_args  # stand-in: the "port" is the in-process scheduler

    async def generate_request(self, obj, request=None):
        yield self.scheduler.run(obj)
