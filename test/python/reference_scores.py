"""The numerical reference for the real-SGLang suite: a transformers forward of the tiny Qwen3
folder (patches/cpu/model.sh), per prompt, in float32 on CPU, independent of SGLang and scorecar.

    python reference_scores.py MODEL_DIR < prompts.json > scores.json

Input: [{"text": str} | {"ids": [int]}, ...] and "labels" in {"prompts": [...], "labels": [...]}.
Output: {"ids": [[int]], "softmax": [[P(label_j) over the labels]], "prob": [[P(label_j) over
the vocabulary]]} at each prompt's last token. Text is tokenized with the folder's own
tokenizer (Hugging Face), without special tokens, as SGLang's /v1/score does.
"""

import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    model_dir = sys.argv[1]
    req = json.load(sys.stdin)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    labels = req["labels"]
    out = {"ids": [], "softmax": [], "prob": []}
    with torch.no_grad():
        for p in req["prompts"]:
            ids = p["ids"] if "ids" in p else tok(p["text"], add_special_tokens=False)["input_ids"]
            logits = model(torch.tensor([ids])).logits[0, -1].double()
            logp = torch.log_softmax(logits, dim=-1)
            sel = logp[labels]
            out["ids"].append(ids)
            out["prob"].append(torch.exp(sel).tolist())
            out["softmax"].append(torch.softmax(sel, dim=-1).tolist())
    json.dump(out, sys.stdout)


main()
