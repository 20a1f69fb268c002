"""Guest projects built with componentize-py for the wasmCloud 2.x tests and benchmark.

`app_project(wasi_http, ollama_wit)`: an HTTP component exporting
`wasi:http/incoming-handler` and importing `ollama:llm/llm`:
`GET /chat?model=M&q=TEXT` (or `size=N`: N x's) answers `200 <model>: <reply>` or, for the WIT error
value, `502 error <status-code>: <error-message>`; `/list` lists model names;
`/alone` answers without calling anything (the app alone, for the benchmark).

`actor_project(stateful_wit, app)`: the stateful sample's actor component
(`samples/stateful/component/app.py`), exporting `wamli:stateful/state` and `model`.

`kv_app_project(wasi_http, kv_wit)`: an HTTP component importing
`wasi:keyvalue/store@0.2.0-draft2`: `GET /kv?bucket=B&key=K[&value=V]` opens bucket B,
sets K to V when a value is given, reads K and drops the bucket before answering
`200 <value>` (`200 -` when K has none) or, for the WIT error value, `502 error <case>`.
"""

from __future__ import annotations

import json
from pathlib import Path

APP_WIT = """\
package test:app;

world app {
  import ollama:llm/llm;
  export wasi:http/incoming-handler@0.2.8;
}
"""

APP = '''\
from urllib.parse import parse_qs, urlparse

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import llm
from wit_world.imports.types import Fields, OutgoingBody, OutgoingResponse, ResponseOutparam


def _respond(response_out, status, text):
    response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain; charset=utf-8")]))
    response.set_status_code(status)
    body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    stream = body.write()
    stream.blocking_write_and_flush(text.encode())
    stream.__exit__(None, None, None)
    OutgoingBody.finish(body, None)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out):
        url = urlparse(request.path_with_query() or "/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            if url.path == "/chat":
                content = query.get("q", "") or "x" * int(query.get("size", "0"))
                message = llm.Message(role="user", content=content)
                reply = llm.chat(llm.ChatRequest(model=query.get("model", ""), messages=[message]))
                status, text = 200, f"{reply.model}: {reply.message.content}"
            elif url.path == "/list":
                status, text = 200, ",".join(m.name for m in llm.list().models)
            elif url.path == "/alone":
                status, text = 200, "alone"
            else:
                status, text = 404, "not found"
        except Err as exc:
            status, text = 502, f"error {exc.value.status_code}: {exc.value.error_message}"
        _respond(response_out, status, text)
'''


KV_APP_WIT = """\
package test:kvapp;

world kv-app {
  import wasi:keyvalue/store@0.2.0-draft2;
  export wasi:http/incoming-handler@0.2.8;
}
"""

# the HTTP answer of APP, reused as it is
RESPOND = APP[APP.index("def _respond") : APP.index("class IncomingHandler")]

KV_APP = '''\
from urllib.parse import parse_qs, urlparse

from componentize_py_types import Err, Ok
from wit_world.imports.types import Fields, OutgoingBody, OutgoingResponse, ResponseOutparam
''' + RESPOND + '''
from wit_world import exports
from wit_world.imports import kvstore


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request, response_out):
        url = urlparse(request.path_with_query() or "/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            bucket = kvstore.open(query.get("bucket", ""))
            try:
                if "value" in query:
                    bucket.set(query["key"], query["value"].encode())
                got = bucket.get(query["key"])
            finally:
                bucket.__exit__(None, None, None)  # the bridge forwards the drop to the provider
            status, text = 200, "-" if got is None else got.decode()
        except Err as exc:
            status, text = 502, f"error {exc.value}"
        _respond(response_out, status, text)
'''


def _tree(folder: Path, under: str) -> dict[str, bytes]:
    return {f"{under}/{f.relative_to(folder).as_posix()}": f.read_bytes() for f in sorted(folder.rglob("*.wit"))}


def _spec(world: str, app: str, names: dict[str, str]) -> bytes:
    args = ["-d", "wit", "-w", world]
    for instance, name in names.items():
        args += ["--import-interface-name", f"{instance}={name}", "--export-interface-name", f"{instance}={name}"]
    return json.dumps({"args": args, "app": app}).encode()


def app_project(wasi_http: Path, ollama_wit: Path) -> dict[str, bytes]:
    """The HTTP app (see the module docstring); `wasi_http` is a wasi:http 0.2.8 package folder."""
    files = {"wit/app.wit": APP_WIT.encode(), "app_main.py": APP.encode()}
    for f in sorted(wasi_http.glob("*.wit")):
        files[f"wit/deps/http/{f.name}"] = f.read_bytes()
    for dep in sorted((wasi_http / "deps").iterdir()):
        files.update(_tree(dep, f"wit/deps/{dep.name}"))
    files.update(_tree(ollama_wit, "wit/deps/ollama"))
    files["componentize.json"] = _spec("test:app/app", "app_main", {"ollama:llm/llm": "llm"})
    return files


def actor_project(stateful_wit: Path, app: Path) -> dict[str, bytes]:
    """The stateful actor component: `app` (samples/stateful/component/app.py) on world actor."""
    files = _tree(stateful_wit, "wit")
    files["actor_main.py"] = app.read_bytes()
    files["componentize.json"] = _spec("wamli:stateful/actor", "actor_main", {})
    return files


def kv_app_project(wasi_http: Path, kv_wit: Path) -> dict[str, bytes]:
    """The key-value HTTP app (see the module docstring); `kv_wit` holds the keyvalue package."""
    files = {"wit/app.wit": KV_APP_WIT.encode(), "kv_main.py": KV_APP.encode()}
    for f in sorted(wasi_http.glob("*.wit")):
        files[f"wit/deps/http/{f.name}"] = f.read_bytes()
    for dep in sorted((wasi_http / "deps").iterdir()):
        files.update(_tree(dep, f"wit/deps/{dep.name}"))
    files.update(_tree(kv_wit, "wit/deps/keyvalue"))
    files["componentize.json"] = _spec("test:kvapp/kv-app", "kv_main", {"wasi:keyvalue/store@0.2.0-draft2": "kvstore"})
    return files
