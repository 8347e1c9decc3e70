"""Start SGLang with the scorecar extensions installed.

Usage (patches/ on PYTHONPATH)::

    python -m scorecar_sglang.launch [scorecar flags] <sglang server args>

    scorecar flags:
      --scorecar-no-exact-prefix         do not pack /v1/score requests
      --scorecar-no-label-head           score packed rows with the full-vocabulary maths
      --scorecar-gc-freeze MODE          auto (default) | always | never
      --scorecar-attention-kernel K      auto (default) | varlen | fused | reference
      --scorecar-allow-signature-drift   patch even if SGLang's signatures differ from the manifest

Everything else is passed to SGLang's own argument parser unchanged.

SGLang runs its scheduler and detokenizer in child processes. Under the spawn
and forkserver start methods a child re-imports the parent's main module under
the name ``__mp_main__``; this module uses that to install the model-side
patches in every child before it builds the model (options travel in the
SCORECAR_SGLANG_OPTIONS environment variable). Under fork the children inherit
the already-patched classes. Imports are absolute for the same reason: the
forkserver may load this file by path, outside its package.
"""

import argparse
import importlib
import logging
import os
import sys
from typing import List, Optional, Sequence, Tuple

from scorecar_sglang.sglang_hooks.options import ENV_VAR, Options

logger = logging.getLogger("scorecar_sglang.launch")

SGLANG_MISSING = (
    "scorecar_sglang.launch: SGLang is not importable from this Python ({exe}): {err}\n"
    "Install the SGLang build named in patches/README.md into this environment, "
    "then run again. Nothing was started."
)


def split_args(argv: Sequence[str]) -> Tuple[Options, List[str]]:
    """Separate scorecar flags from SGLang's; returns (options, SGLang argv)."""
    parser = argparse.ArgumentParser(prog="python -m scorecar_sglang.launch", add_help=False)
    parser.add_argument("--scorecar-no-exact-prefix", action="store_true")
    parser.add_argument("--scorecar-no-label-head", action="store_true")
    parser.add_argument("--scorecar-gc-freeze", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--scorecar-attention-kernel", choices=("auto", "varlen", "fused", "reference"), default="auto")
    parser.add_argument("--scorecar-allow-signature-drift", action="store_true")
    ns, rest = parser.parse_known_args(list(argv))
    options = Options(
        exact_prefix=not ns.scorecar_no_exact_prefix,
        label_head=not ns.scorecar_no_label_head,
        gc_freeze=ns.scorecar_gc_freeze,
        attention_kernel=ns.scorecar_attention_kernel,
        strict_signatures=not ns.scorecar_allow_signature_drift,
    )
    return options, rest


def validate_server_args(server_args, options: Options) -> List[str]:
    """Server settings under which the patches would give wrong scores; empty when fine."""

    def arg(name, default=None):
        return getattr(server_args, name, default)

    problems = []
    if options.exact_prefix:
        if not arg("disable_radix_cache", False):
            problems.append(
                "--disable-radix-cache is required: a packed request's KV cache holds items that "
                "did not attend to each other, so it must never be reused as a prefix"
            )
        chunk = arg("chunked_prefill_size", None)
        # None means "SGLang picks a default later" on builds that resolve flags
        # after parsing, which would enable chunking; only an explicit -1 is safe.
        if chunk is None or chunk > 0:
            problems.append(
                "--chunked-prefill-size -1 is required: a packed request must be prefilled in one piece"
            )
    if options.scoring_enabled:
        if arg("tp_size", 1) != 1:
            problems.append("--tp-size 1 is required: the label head reads whole LM-head rows (use --dp-size to scale)")
        if arg("enable_dp_attention", False):
            problems.append("--enable-dp-attention is not supported with the scoring patches")
        if arg("multi_item_scoring_delimiter", None) is not None or arg("enable_mis", False):
            problems.append("upstream multi-item scoring must be off: the exact shared-prefix path replaces it")
        if arg("speculative_algorithm", None):
            problems.append("speculative decoding is not supported on a scoring server")
        if arg("enable_piecewise_cuda_graph", False) or arg("enforce_piecewise_cuda_graph", False):
            problems.append("piecewise CUDA graphs must be off: captured prefill would bypass the attention hook")
        if arg("tokenizer_worker_num", 1) not in (None, 1):
            problems.append("--tokenizer-worker-num 1 is required: the fast path is installed in the main tokenizer process")
        if arg("enable_two_batch_overlap", False) or arg("enable_pdmux", False):
            problems.append("two-batch overlap / prefill splitting must be off: they re-slice the forward batch")
    return problems


def _kill_children() -> None:
    try:
        from sglang.srt.utils import kill_process_tree
    except ImportError:
        return
    kill_process_tree(os.getpid(), include_parent=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options, sglang_argv = split_args(sys.argv[1:] if argv is None else argv)
    try:
        server_args_mod = importlib.import_module("sglang.srt.server_args")
    except ImportError as err:
        print(SGLANG_MISSING.format(exe=sys.executable, err=err), file=sys.stderr)
        return 2

    # As sglang/launch_server.py's __main__ does (0.5.23, lines 78-80): plugins, then the args.
    try:
        importlib.import_module("sglang.srt.plugins").load_plugins()
    except (ImportError, AttributeError):
        pass
    server_args = server_args_mod.prepare_server_args(sglang_argv)
    problems = validate_server_args(server_args, options)
    if problems:
        for p in problems:
            print(f"scorecar_sglang.launch: {p}", file=sys.stderr)
        return 2

    # Children read this back in _install_in_child(); set it before SGLang spawns them.
    os.environ[ENV_VAR] = options.to_env()
    from scorecar_sglang.sglang_hooks import install

    report = install(options, scope="all")
    logger.info("scorecar patches: %s", report)

    entry = getattr(importlib.import_module("sglang.launch_server"), "run_server", None)
    if entry is None:
        entry = importlib.import_module("sglang.srt.entrypoints.http_server").launch_server
    try:
        entry(server_args)
    finally:
        _kill_children()
    return 0


def _install_in_child() -> None:
    options = Options.from_env()
    if options is None:
        return
    from scorecar_sglang.sglang_hooks import install

    report = install(options, scope="model")
    # SGLang configures logging in the child only later; stderr reaches the server log.
    print(f"scorecar patches in child {os.getpid()}: {report}", file=sys.stderr, flush=True)


if __name__ == "__mp_main__":
    _install_in_child()
elif __name__ == "__main__":
    sys.exit(main())
