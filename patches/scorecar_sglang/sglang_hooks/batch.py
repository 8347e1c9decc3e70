"""Scheduler-side hooks that carry the packed layout into the forward pass.

Path of a packed request's layout through SGLang (see the manifest for citations):

  GenerateReqInput.sampling_params["custom_params"]   (tokenizer process, our score hook)
  -> Req.sampling_params.custom_params                 (scheduler process)
  -> SamplingBatchInfo.custom_params                   (from_schedule_batch, hook 1 below)
  -> ForwardBatch.sampling_info.custom_params          (same object, carried by ModelWorkerBatch)
  -> ForwardBatch.scorecar_plan + packed positions     (init_new, hook 2 below)

Upstream fills SamplingBatchInfo.custom_params only when a request brings a
custom logit processor (which also needs --enable-custom-logit-processor, a
flag we do not want to require: it lets clients ship code to the server). The
field is otherwise unused, so hook 1 fills it for batches that contain scorecar
requests and leaves every other batch untouched. The list also survives the
overlap scheduler's dataclasses.replace() copy of SamplingBatchInfo because it
is a real dataclass field.
"""

import functools
import logging

from ..packing import SCORECAR_KEY
from .plan import attach_plan, build_plan, packed_positions

logger = logging.getLogger(__name__)


def make_from_schedule_batch(original_func):
    """Wrap SamplingBatchInfo.from_schedule_batch(cls, batch, vocab_size)."""

    @functools.wraps(original_func)
    def from_schedule_batch(cls, batch, vocab_size, *args, **kwargs):
        ret = original_func(cls, batch, vocab_size, *args, **kwargs)
        if getattr(ret, "custom_params", None) is None:
            params = [getattr(r.sampling_params, "custom_params", None) for r in batch.reqs]
            if any(isinstance(p, dict) and SCORECAR_KEY in p for p in params):
                ret.custom_params = params
        return ret

    return from_schedule_batch


def make_init_new(original_func):
    """Wrap ForwardBatch.init_new(cls, batch, model_runner): attach the plan, fix positions.

    Item tokens of a packed request must get rotary positions prefix_len + j (as
    if scored alone), not their offset in the packed sequence. Positions are
    computed here once per batch, before any layer runs, by overwriting only the
    packed requests' slice of ForwardBatch.positions.
    """

    @functools.wraps(original_func)
    def init_new(cls, batch, model_runner, *args, **kwargs):
        ret = original_func(cls, batch, model_runner, *args, **kwargs)
        try:
            plan = build_plan(ret)
        except Exception:  # never take the server down over a scoring request
            logger.exception("scorecar: could not build the batch plan; scoring requests will fail")
            plan = None
        attach_plan(ret, plan)
        if plan is None:
            return ret
        update = packed_positions(plan)
        if update is not None:
            positions = ret.positions
            if positions is None or positions.shape[0] != plan.num_tokens:
                plan.invalidate("positions tensor does not match the batch")
            else:
                idx, pos = update
                positions[idx.to(positions.device)] = pos.to(device=positions.device, dtype=positions.dtype)
        return ret

    return init_new
