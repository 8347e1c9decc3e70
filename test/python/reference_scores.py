"""The numerical reference for the real-SGLang suite: a plain transformers forward of the tiny
Qwen3 folder that the real CPU server loads, one prompt at a time, CPU, float32.

Reads a JSON object from stdin:
    {"model_dir": str, "labels": [int], "cases": [{"query": str, "item": str, "item_first": bool}]}
and prints, for each case and for each of the two ways SGLang builds a single-item prompt:
    text: the joined string (query + item, or item + query) tokenized as one text;
    ids:  the query's ids followed by the item's ids (or the reverse), each tokenized alone;
the prompt's ids (for ids, also query_ids and item_ids) and, at its last position, P(label) over the whole vocabulary ("raw") and the
softmax over the label set's logits ("softmax").

The ids come from the HF tokenizer in the model folder, not from scorecar's code, so a
tokenization difference in scorecar shows up as a score difference in the test.

    python reference_scores.py < request.json > reference.json
"""

import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main() -> None:
    req = json.load(sys.stdin)
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(req["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(req["model_dir"], dtype=torch.float32)
    model.eval()
    labels = [int(x) for x in req["labels"]]

    def encode(text: str) -> list[int]:
        return list(tok(text, add_special_tokens=False)["input_ids"])

    def scores(ids: list[int]) -> dict:
        with torch.no_grad():
            logits = model(torch.tensor([ids], dtype=torch.long)).logits[0, -1]
        logp = torch.log_softmax(logits.to(torch.float64), dim=-1)
        chosen = logits.to(torch.float64)[labels]
        return {
            "ids": ids,
            "raw": [float(torch.exp(logp[t])) for t in labels],
            "softmax": [float(x) for x in torch.softmax(chosen, dim=-1)],
        }

    out = []
    for case in req["cases"]:
        q, item, first = case["query"], case["item"], bool(case.get("item_first", False))
        text_ids = encode(item + q if first else q + item)
        q_ids, i_ids = encode(q), encode(item)
        by_ids = scores(i_ids + q_ids if first else q_ids + i_ids)
        by_ids.update(query_ids=q_ids, item_ids=i_ids)
        out.append({"text": scores(text_ids), "ids": by_ids})
    json.dump({"torch": torch.__version__, "labels": labels, "cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
