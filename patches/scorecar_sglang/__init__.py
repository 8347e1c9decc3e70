"""scorecar extensions for SGLang: exact shared-prefix scoring, a label-only head, GC freeze.

Pure pieces (importable without SGLang; plain PyTorch):
  layout            the packed request layout (shared prefix + N items, no delimiters)
  prefix_attention  reference shared-prefix attention (partial attentions merged by LSE)
  kernels           fused GPU paths for the same maths (torch 2.x only, guarded)
  label_head        softmax over the label rows of the LM head, nothing else
  packing           tokenizer-side packing / unpacking of /v1/score requests
  gc_freeze         freeze the GC once the server is warm

SGLang wiring lives in `scorecar_sglang.sglang_hooks` and is applied by
`scorecar_sglang.sglang_hooks.install()`; `python -m scorecar_sglang.launch` does it for you.
"""

__version__ = "0.1.0"

# What a patched server advertises in /server_info (design.md section 4).
FEATURES = ("exact_prefix", "label_head")
