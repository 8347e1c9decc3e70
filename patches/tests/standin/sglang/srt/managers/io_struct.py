"""Stand-in for GenerateReqInput: the fields the /v1/score path sets.

Upstream accepts one value for all requests of a batch or one per request for
sampling_params, logprob_start_len and token_ids_logprob; so does this stand-in.
"""

import copy
import dataclasses
from typing import Any, Dict, List, Optional, Union


@dataclasses.dataclass
class GenerateReqInput:
    input_ids: Optional[Union[List[List[int]], List[int]]] = None
    sampling_params: Optional[Union[List[Dict], Dict]] = None
    return_logprob: Optional[Union[List[bool], bool]] = None
    logprob_start_len: Optional[Union[List[int], int]] = None
    token_ids_logprob: Optional[Union[List[List[int]], List[int]]] = None
    stream: bool = False
    text: Any = None

    def per_request(self) -> List[Dict[str, Any]]:
        ids = self.input_ids
        if ids and isinstance(ids[0], int):
            ids = [ids]
        n = len(ids)

        def spread(value, is_list_of_lists=False):
            if isinstance(value, list) and (not is_list_of_lists or (value and isinstance(value[0], list))):
                if len(value) == n:
                    return value
            return [copy.deepcopy(value) for _ in range(n)]

        sp = spread(self.sampling_params or {}) if not isinstance(self.sampling_params, list) else self.sampling_params
        return [
            {"input_ids": ids[i], "sampling_params": sp[i], "logprob_start_len": ls,
             "token_ids_logprob": tl, "return_logprob": bool(self.return_logprob)}
            for i, (ls, tl) in enumerate(zip(spread(self.logprob_start_len), spread(self.token_ids_logprob, True)))
        ]
