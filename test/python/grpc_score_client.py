"""A Python client of scorecar.v1.Scorer, for the cross-language end-to-end test.

Stubs are generated from proto/scorecar/v1/scorer.proto at run time, with grpc-tools from the
project venv (patches/env/venv.sh), into a temporary directory; the client then sends SGLang
/v1/score bodies (read as JSON) as ScoreRequests, once as unary calls and once over one
ScoreStream, and prints what came back as JSON for the test to compare with scorecar's HTTP
answers.

    "$(bash patches/env/venv.sh)/bin/python" test/python/grpc_score_client.py --target 127.0.0.1:30002 \
        --proto-root proto --requests requests.json
"""

import argparse
import importlib
import json
import sys
import tempfile
import threading

import grpc
from grpc_tools import protoc


def generate_stubs(proto_root, out_dir):
    """Runs protoc (from grpc-tools) on the public proto and imports the generated modules."""
    args = [
        "grpc_tools.protoc",
        "-I" + proto_root,
        "--python_out=" + out_dir,
        "--grpc_python_out=" + out_dir,
        "scorecar/v1/scorer.proto",
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on scorecar/v1/scorer.proto")
    sys.path.insert(0, out_dir)
    pb = importlib.import_module("scorecar.v1.scorer_pb2")
    rpc = importlib.import_module("scorecar.v1.scorer_pb2_grpc")
    return pb, rpc


def to_request(pb, body, index):
    """An SGLang /v1/score body as a ScoreRequest; id items alternate the two id forms."""
    req = pb.ScoreRequest(
        label_token_ids=body["label_token_ids"],
        apply_softmax=body.get("apply_softmax", False),
        item_first=body.get("item_first", False),
        model=body.get("model", ""),
    )
    query, items = body["query"], body["items"]
    if isinstance(query, str):
        req.query_text = query
        req.item_texts.texts.extend(items)
    else:
        req.query_ids.ids.extend(query)
        if index % 2 == 0:
            for ids in items:
                req.item_ids.items.add().ids.extend(ids)
        else:
            for ids in items:
                req.item_packed_ids.ids.extend(ids)
                req.item_packed_ids.lengths.append(len(ids))
    return req


def rows(response):
    n = response.n_labels
    flat = list(response.scores)
    return [flat[i:i + n] for i in range(0, len(flat), n)] if n else []


def unary(stub, pb, bodies):
    out = []
    for i, body in enumerate(bodies):
        response, call = stub.Score.with_call(to_request(pb, body, i), timeout=30)
        trailer = {k: v for k, v in call.trailing_metadata() if k.startswith("x-scorecar-")}
        out.append({"scores": rows(response), "model": response.model, "metadata": trailer})
    return out


def streamed(stub, pb, bodies):
    """Every request on one stream, sent without waiting; answers matched back by id."""
    done = threading.Event()

    def requests():
        for i, body in enumerate(bodies):
            yield pb.ScoreStreamRequest(id=1000 + i, request=to_request(pb, body, i + 1))
        done.wait(30)

    answers = {}
    order = []
    for m in stub.ScoreStream(requests(), timeout=60):
        which = m.WhichOneof("result")
        if which != "response":
            raise SystemExit("stream request %d failed: %s" % (m.id, m.error.message))
        answers[m.id] = {"scores": rows(m.response), "items": m.timing.items}
        order.append(m.id)
        if len(answers) == len(bodies):
            done.set()
    return [answers[1000 + i] for i in range(len(bodies))], order


def invalid(stub, pb):
    """A request SGLang refuses: the status must be INVALID_ARGUMENT with SGLang's message."""
    try:
        stub.Score(pb.ScoreRequest(query_text="q", item_texts=pb.TextItems(texts=["a"])), timeout=10)
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}
    return {"code": "OK", "details": ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--proto-root", required=True)
    ap.add_argument("--requests", required=True)
    a = ap.parse_args()
    with open(a.requests, encoding="utf-8") as f:
        bodies = json.load(f)
    with tempfile.TemporaryDirectory(prefix="scorecar-stubs-") as tmp:
        pb, rpc = generate_stubs(a.proto_root, tmp)
        with grpc.insecure_channel(a.target) as channel:
            stub = rpc.ScorerStub(channel)
            stream_answers, order = streamed(stub, pb, bodies)
            json.dump(
                {
                    "grpc_version": grpc.__version__,
                    "unary": unary(stub, pb, bodies),
                    "stream": stream_answers,
                    "stream_order": order,
                    "invalid": invalid(stub, pb),
                },
                sys.stdout,
            )


if __name__ == "__main__":
    main()
