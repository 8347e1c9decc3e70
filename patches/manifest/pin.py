"""Re-pin manifest/sglang_pins.json to the SGLang installed in this Python.

    $(bash patches/env/venv.sh)/bin/python patches/manifest/pin.py

Reads every symbol below from the installed release (file, line of its `def` /
`class` / assignment, signature without annotations) and writes the manifest.
`required_params` and `why` are ours: what the wrappers rely on and why we
touch the symbol. tests/test_manifest.py checks the committed file against the
installed release, so a new pin is a deliberate, reviewed change.
"""

import importlib
import inspect
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from scorecar_sglang.sglang_hooks.manifest import MANIFEST_PATH, plain_signature  # noqa: E402

SYMBOLS = [
    ("score_request", "patched", "sglang.srt.managers.tokenizer_manager_score_mixin",
     "TokenizerManagerScoreMixin.score_request", "async method",
     ["self", "query", "items", "label_token_ids", "apply_softmax", "item_first"],
     "/v1/score entry point; OpenAIServingScore calls it with keywords only "
     "(srt/entrypoints/openai/serving_score.py:80). Token-id requests with apply_softmax=true, "
     "a flat label list and every later keyword at its default are packed into shared-prefix "
     "sequences; everything else goes to the stock method. Uses GenerateReqInput (imported "
     "at line 14) with the stock prefill-only recipe (lines 1192-1208) and repeats its "
     "out-of-vocabulary label check and message (lines 984-991)."),
    ("score_result", "used", "sglang.srt.managers.tokenizer_manager_score_mixin", "ScoreResult",
     "dataclass", ["scores", "prompt_tokens"],
     "Return type of score_request; the fast path returns the same type."),
    ("tokenizer_manager", "used", "sglang.srt.managers.tokenizer_manager", "TokenizerManager", "class",
     ["self", "server_args", "port_args"],
     "Inherits score_request from the mixin, so patching the mixin reaches it. The fast path "
     "reads is_generation, context_len, max_req_input_len (set at lines 599-602), tokenizer and "
     "generate_request."),
    ("from_schedule_batch", "patched", "sglang.srt.sampling.sampling_batch_info",
     "SamplingBatchInfo.from_schedule_batch", "classmethod", ["cls", "batch", "vocab_size"],
     "Fills the custom_params field (line 89) from each Req.sampling_params.custom_params when "
     "the batch holds scorecar requests; upstream only fills it when a custom logit processor "
     "is present (lines 245-267)."),
    ("forward_batch_init_new", "patched", "sglang.srt.model_executor.forward_batch_info",
     "ForwardBatch.init_new", "classmethod", ["cls", "batch", "model_runner"],
     "Builds the per-batch plan from sampling_info.custom_params and overwrites the packed "
     "requests' slice of ForwardBatch.positions (computed at lines 1248-1258) with "
     "prefix_len + j for item tokens. Reads extend_seq_lens_cpu / extend_prefix_lens_cpu "
     "(lines 1240-1241). Later parameters are keyword-only and passed through."),
    ("radix_attention_forward", "patched", "sglang.srt.layers.radix_attention", "RadixAttention.forward",
     "method", ["self", "q", "k", "v", "forward_batch", "save_kv_cache"],
     "Shared-prefix attention for packed requests (Qwen3 calls it at srt/models/qwen3.py:358 "
     "after q/k norm and RoPE). Reads tp_q_head_num, tp_k_head_num, qk_head_dim, v_head_dim, "
     "scaling, sliding_window_size, logit_cap, is_cross_attention (lines 81-91)."),
    ("logits_processor_forward", "patched", "sglang.srt.layers.logits_processor", "LogitsProcessor.forward",
     "method", ["self", "input_ids", "hidden_states", "lm_head", "logits_metadata"],
     "Label-only head at the scored rows; hands SGLang one small slot row per packed request. "
     "logits_metadata is the ForwardBatch (converted at lines 554-558), where the plan lives."),
    ("logits_processor_output", "used", "sglang.srt.layers.logits_processor", "LogitsProcessorOutput",
     "dataclass", ["next_token_logits", "hidden_states"],
     "What the label head returns for an all-packed batch."),
    ("http_app", "patched", "sglang.srt.entrypoints.http_server", "app", "FastAPI instance", [],
     "An ASGI middleware adds scorecar_patches to the /get_server_info and /server_info JSON."),
    ("get_server_info", "used", "sglang.srt.entrypoints.http_server", "get_server_info", "route", [],
     "GET /get_server_info, whose JSON the middleware extends."),
    ("server_info", "used", "sglang.srt.entrypoints.http_server", "server_info", "route", [],
     "GET /server_info, whose JSON the middleware extends."),
    ("freeze_gc_route", "used", "sglang.srt.entrypoints.http_server", "freeze_gc_async", "route", [],
     "POST /freeze_gc: freezes the GC in the tokenizer manager and, through the scheduler, "
     "the scheduler and detokenizer processes."),
    ("freeze_gc_after_warmup", "used", "sglang.srt.entrypoints.http_server",
     "_freeze_gc_after_server_warmup", "function", ["server_args"],
     "Stock post-warmup freeze: one POST /freeze_gc, no readiness wait. Under "
     "--skip-server-warmup it races the HTTP server's start (connection refused when it loses)."),
    ("wait_and_warmup", "patched", "sglang.srt.entrypoints.http_server", "_wait_and_warmup", "function",
     ["server_args"],
     "Run it, then (when SGLang's own freeze cannot be relied on) wait for readiness, send one "
     "scoring warmup request and POST /freeze_gc. The lifespan looks it up as a module global "
     "when it starts the warmup thread (line 451)."),
    ("http_launch_server", "called", "sglang.srt.entrypoints.http_server", "launch_server", "function",
     ["server_args"], "Reached through run_server."),
    ("run_server", "called", "sglang.launch_server", "run_server", "function", ["server_args"],
     "Called by our launcher exactly as python -m sglang.launch_server does (line 84)."),
    ("prepare_server_args", "called", "sglang.srt.server_args", "prepare_server_args", "function", ["argv"],
     "Parses SGLang's flags (raw, unresolved values) for the launcher's checks."),
]


def _line(module, qualname, obj):
    if qualname == "app":
        src = inspect.getsource(module).splitlines()
        return next(i + 1 for i, l in enumerate(src) if re.match(r"^app\s*=", l))
    target = inspect.unwrap(getattr(obj, "__func__", obj))
    return inspect.getsourcelines(target)[1] if not isinstance(obj, type) else inspect.getsourcelines(obj)[1]


def _def_line(path, line, qualname):
    """The line of the def/class keyword itself (getsourcelines starts at decorators)."""
    name = qualname.split(".")[-1]
    lines = open(path, encoding="utf-8").read().splitlines()
    for i in range(line - 1, min(line + 20, len(lines))):
        if re.match(rf"\s*(async\s+def|def|class)\s+{re.escape(name)}\b", lines[i]) or re.match(rf"^{name}\s*=", lines[i]):
            return i + 1
    return line


def main():
    import sglang

    version = getattr(sglang, "__version__", None) or importlib.import_module("sglang.version").__version__
    root = os.path.dirname(os.path.dirname(os.path.abspath(sglang.__file__)))
    out = []
    for sid, role, modname, qualname, kind, required, why in SYMBOLS:
        module = importlib.import_module(modname)
        obj = module
        for part in qualname.split("."):
            obj = getattr(obj, part)
        raw = obj
        if "." in qualname:
            owner = getattr(module, qualname.split(".")[0])
            raw = owner.__dict__.get(qualname.split(".")[-1], obj)
        path = os.path.relpath(inspect.getsourcefile(module), root)
        line = _def_line(os.path.join(root, path), _line(module, qualname, obj), qualname)
        sig = ""
        if callable(raw) or isinstance(raw, (classmethod, staticmethod)):
            target = obj.__init__ if isinstance(obj, type) and kind == "class" else obj
            sig = plain_signature(target) if qualname != "app" else ""
            if kind == "dataclass":
                sig = plain_signature(obj)
        out.append({
            "id": sid, "role": role, "module": modname, "qualname": qualname, "kind": kind,
            "path": path, "line": line, "signature": sig, "required_params": required, "why": why,
        })
    manifest = {
        "release": f"sglang=={version}",
        "how_read": "Read from the installed PyPI wheel of this release (site-packages/sglang); "
                    "path is relative to site-packages, line is the def/class/assignment line. "
                    "Written by manifest/pin.py.",
        "symbols": out,
    }
    with open(MANIFEST_PATH, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    print(f"wrote {MANIFEST_PATH} for sglang=={version} ({len(out)} symbols)")


if __name__ == "__main__":
    main()
