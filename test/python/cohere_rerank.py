"""The official Cohere SDK against scorecar's rerank routes.

    python cohere_rerank.py --scorecar URL --backend URL --tokenizer tokenizer.json

Checks, for Client (v1) and ClientV2 pointed at scorecar with base_url:
- rerank(model, query, documents, top_n=3) returns the documents best first;
- each relevance_score equals P(yes) that the backend's own /v1/score gives for the same prompt,
  whose ids are built here, independently of scorecar: the Qwen3-Reranker prompt from the model
  card's text, tokenized with the Hugging Face tokenizer, sent straight to the backend;
- return_documents gives the documents' text back (v1).
Prints one JSON line with what it compared; exits non-zero on any mismatch.
"""

import argparse
import json
import math
import sys
import urllib.request

import cohere
from tokenizers import Tokenizer

# The Qwen3-Reranker model card's prompt.
PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
    'and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n'
    "<|im_start|>user\n"
)
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
YES, NO = 9693, 2152

QUERY = "remote python backend jobs"
DOCUMENTS = [
    "Senior Python engineer, fully remote, building Django and FastAPI services.",
    "Pastry chef for a bakery in Lyon; early mornings, croissants and tarts.",
    "Backend developer (Go and Python), hybrid in Berlin, Kubernetes experience.",
    "Night-shift warehouse associate, forklift licence required.",
    "Data engineer: Python, Airflow, Spark; remote within the EU.",
]


def prompt(query, doc, instruction=DEFAULT_INSTRUCTION):
    return f"{PREFIX}<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}{SUFFIX}"


def backend_p_yes(backend, tok, query, doc):
    ids = tok.encode(prompt(query, doc), add_special_tokens=False).ids
    body = json.dumps({"query": [], "items": [ids], "label_token_ids": [YES, NO], "apply_softmax": True}).encode()
    req = urllib.request.Request(backend + "/v1/score", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["scores"][0][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scorecar", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-9)
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    want = [backend_p_yes(args.backend, tok, QUERY, d) for d in DOCUMENTS]
    best_first = sorted(range(len(DOCUMENTS)), key=lambda i: -want[i])
    failures = []

    v1 = cohere.Client(api_key="unused", base_url=args.scorecar)
    r1 = v1.rerank(model="qwen3-reranker", query=QUERY, documents=DOCUMENTS, top_n=3, return_documents=True)
    v2 = cohere.ClientV2(api_key="unused", base_url=args.scorecar)
    r2 = v2.rerank(model="qwen3-reranker", query=QUERY, documents=DOCUMENTS, top_n=3)
    for name, resp in (("v1", r1), ("v2", r2)):
        got = [res.index for res in resp.results]
        if got != best_first[:3]:
            failures.append(f"{name}: order {got} != {best_first[:3]}")
        for res in resp.results:
            if not math.isclose(res.relevance_score, want[res.index], rel_tol=args.tolerance, abs_tol=args.tolerance):
                failures.append(f"{name}: document {res.index} score {res.relevance_score} != backend P(yes) {want[res.index]}")
    for res in r1.results:
        text = res.document.text if res.document is not None else None
        if text != DOCUMENTS[res.index]:
            failures.append(f"v1: return_documents gave {text!r} for document {res.index}")
    print(json.dumps({"compared": len(r1.results) + len(r2.results), "order": best_first[:3], "scores": want, "failures": failures}))
    sys.exit(1 if failures else 0)


main()
