"""Test harness: an in-process scheduler + model runner over the stand-in SGLang interfaces.

It drives the same objects in the same order as SGLang does for a prefill-only
batch: Req -> ScheduleBatch -> SamplingBatchInfo.from_schedule_batch ->
ModelWorkerBatch -> ForwardBatch.init_new -> model forward with one
RadixAttention call per layer -> LogitsProcessor.forward -> the sampler's
logprob-only step (log-softmax of next_token_logits / temperature, gather the
requested token ids) -> meta_info["output_token_ids_logprobs"]. So whatever the
patches do to those interfaces is exercised exactly as a server would.
"""

import importlib
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin")

from scorecar_sglang.prefix_attention import causal_attention  # noqa: E402
from scorecar_sglang.qwen3_style import Qwen3StyleConfig, Qwen3StyleModel  # noqa: E402


def purge_sglang_modules():
    for name in list(sys.modules):
        if name == "sglang" or name.startswith("sglang."):
            del sys.modules[name]


class Sgl:
    """The stand-in modules, imported fresh."""

    def __init__(self):
        if STANDIN not in sys.path:
            sys.path.insert(0, STANDIN)
        purge_sglang_modules()
        imp = importlib.import_module
        self.mixin = imp("sglang.srt.managers.tokenizer_manager_score_mixin")
        self.tm = imp("sglang.srt.managers.tokenizer_manager")
        self.sched = imp("sglang.srt.managers.schedule_batch")
        self.sbi = imp("sglang.srt.sampling.sampling_batch_info")
        self.sp = imp("sglang.srt.sampling.sampling_params")
        self.fbi = imp("sglang.srt.model_executor.forward_batch_info")
        self.radix = imp("sglang.srt.layers.radix_attention")
        self.logits = imp("sglang.srt.layers.logits_processor")
        self.http = imp("sglang.srt.entrypoints.http_server")

    @staticmethod
    def close():
        purge_sglang_modules()
        if STANDIN in sys.path:
            sys.path.remove(STANDIN)


class TorchBackend:
    """Stand-in attention backend: causal attention within each request's extend."""

    def __init__(self):
        self.calls = 0

    def forward(self, q, k, v, layer, forward_batch, save_kv_cache=True, **kwargs):
        self.calls += 1
        q3 = q.view(-1, layer.tp_q_head_num, layer.qk_head_dim)
        out = q3.new_empty(q3.shape[0], layer.tp_q_head_num, layer.v_head_dim)
        start = 0
        for n in forward_batch.extend_seq_lens_cpu:
            rows = slice(start, start + n)
            out[rows] = causal_attention(q3[rows], k[rows], v[rows], layer.scaling)
            start += n
        return out.view(q3.shape[0], -1)


class ModelRunner:
    def __init__(self):
        self.attn_backend = TorchBackend()


class TinySglangModel(nn.Module):
    """Qwen3-style decoder wired like an SGLang model file: RadixAttention per layer, LogitsProcessor head."""

    def __init__(self, sgl: Sgl, cfg: Qwen3StyleConfig, seed: int = 0, tp_size: int = 1):
        super().__init__()
        self.core = Qwen3StyleModel(cfg).init_random(seed)
        self.attn = [
            sgl.radix.RadixAttention(cfg.num_attention_heads, cfg.head_dim, cfg.head_dim ** -0.5,
                                     cfg.num_key_value_heads, layer_id=i)
            for i in range(cfg.num_hidden_layers)
        ]
        self.logits_processor = sgl.logits.LogitsProcessor(cfg, tp_size=tp_size)

    @torch.no_grad()
    def forward(self, input_ids, positions, forward_batch):
        layers = iter(self.attn)

        def attn(q, k, v, scale):
            t = q.shape[1]
            out = next(layers)(q.reshape(t, -1), k.reshape(t, -1), v.reshape(t, -1), forward_batch)
            return out.view(1, t, q.shape[2], -1)

        hidden = self.core.hidden_states(input_ids[None], positions[None], attn)[0]
        return self.logits_processor(input_ids, hidden, self.core.lm_head, forward_batch)


class StandinScheduler:
    def __init__(self, sgl: Sgl, model: TinySglangModel):
        self.sgl, self.model, self.runner = sgl, model, ModelRunner()
        self.cached_prefix = {}  # request index -> tokens "served from the radix cache"
        self.last_forward_batch = None

    def run(self, gen_req):
        reqs = []
        for i, p in enumerate(gen_req.per_request()):
            reqs.append(self.sgl.sched.Req(
                rid=f"r{i}", origin_input_ids=p["input_ids"],
                sampling_params=self.sgl.sp.SamplingParams(**p["sampling_params"]),
                return_logprob=p["return_logprob"], token_ids_logprob=p["token_ids_logprob"],
            ))
        return self.run_reqs(reqs)

    def run_reqs(self, reqs):
        sgl = self.sgl
        prefix = [self.cached_prefix.get(i, 0) for i in range(len(reqs))]
        extend = [len(r.origin_input_ids) - p for r, p in zip(reqs, prefix)]
        batch = sgl.sched.ScheduleBatch(reqs=reqs)
        sampling_info = sgl.sbi.SamplingBatchInfo.from_schedule_batch(batch, self.model.core.cfg.vocab_size)
        mwb = sgl.sched.ModelWorkerBatch(
            forward_mode=sgl.fbi.ForwardMode.EXTEND,
            input_ids=torch.tensor([t for r, p in zip(reqs, prefix) for t in r.origin_input_ids[p:]]),
            seq_lens=torch.tensor([len(r.origin_input_ids) for r in reqs]),
            extend_seq_lens=extend,
            extend_prefix_lens=prefix,
            extend_logprob_start_lens=list(extend),  # no input logprobs (prefill-only scoring)
            return_logprob=True,
            token_ids_logprobs=[r.token_ids_logprob for r in reqs],
            sampling_info=sampling_info,
        )
        fb = sgl.fbi.ForwardBatch.init_new(mwb, self.runner)
        self.last_forward_batch = fb
        out = self.model(fb.input_ids, fb.positions, fb)
        logprobs = torch.log_softmax(out.next_token_logits / sampling_info.temperatures, dim=-1)
        results = []
        for i, r in enumerate(reqs):
            ids = r.token_ids_logprob
            vals = logprobs[i, ids].tolist()
            results.append({"meta_info": {
                "id": r.rid, "prompt_tokens": len(r.origin_input_ids),
                "output_token_ids_logprobs": [[(v, t, None) for v, t in zip(vals, ids)]],
            }})
        return results


def small_config(**overrides) -> Qwen3StyleConfig:
    base = dict(vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    base.update(overrides)
    return Qwen3StyleConfig(**base)
