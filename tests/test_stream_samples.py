"""The streams, keyvalue and ollama samples served over TCP and NATS, called with
`witgen call` (stream arguments as WAVE lists, results whole or `--follow`ed) and by the
wRPC project's own Go clients (../shared/peers/wrpc-go), which must print against these
samples what they print against their Go servers."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nats_server import NatsServer, nats  # noqa: E402,F401
from tcp_support import HOST  # noqa: E402
from test_wrpc_go_streams import check_go_client_output  # noqa: E402
from test_wrpc_go_tcp import GoServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STREAMS_WIT = str(ROOT / "samples" / "streams" / "wit")
KEYVALUE_WIT = str(ROOT / "samples" / "keyvalue" / "wit")
OLLAMA_WIT = str(ROOT / "samples" / "ollama" / "wit")
ECHO = "wrpc-examples:streams/handler.echo"


class Sample:
    """`python -m MODULE ARGS...` serving until stopped; `address` when over TCP."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stderr is not None
        first = self.proc.stderr.readline()
        if not first.startswith("serving"):
            self.proc.kill()
            raise RuntimeError(f"{module} did not start: {first}{self.proc.stderr.read()}")
        found = re.search(r"over TCP on (\S+)$", first.strip())
        self.address = found.group(1) if found else ""
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def __enter__(self) -> Sample:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)


def served(module: str, transport: str, nats_url: str, prefix: str, *extra: str) -> tuple[Sample, list[str]]:
    """The sample started on `transport` and the `witgen call` options that reach it."""
    if transport == "tcp":
        sample = Sample(module, "--tcp", f"{HOST}:0", *extra)
        return sample, ["--tcp", sample.address]
    sample = Sample(module, "--nats", nats_url, "--prefix", prefix, *extra)
    return sample, ["--nats", nats_url, "--prefix", prefix]


def witgen_call(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "witgen", "call", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(params=["tcp", "nats"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def nats_url(transport: str, request: pytest.FixtureRequest) -> str:
    """The module's nats-server URL when the test runs over NATS."""
    if transport != "nats":
        return ""
    server: NatsServer = request.getfixturevalue("nats")
    return server.url


@pytest.fixture(scope="module")
def go_bin(shared: Path) -> Path:
    found = shared / "peers" / "wrpc-go" / "bin"
    if not (found / "streams-client-tcp").exists():
        pytest.skip(f"{found} holds no wRPC Go peers: the Go client tests need them")
    return found


# --------------------------------------------------------------------------- witgen call


def test_call_streams_whole_and_followed(transport: str, nats_url: str) -> None:
    sample, reach = served("samples.streams.server", transport, nats_url, "t.streams")
    with sample:
        args = [*reach, "--wit", STREAMS_WIT, ECHO, "{numbers: [1, 2, 3], bytes: [104, 105]}"]
        whole = witgen_call(*args)
        assert whole.returncode == 0, whole.stderr
        assert whole.stdout == "([1, 2, 3], [104, 105])\n"

        followed = witgen_call("--follow", *args)
        assert followed.returncode == 0, followed.stderr
        lines = followed.stdout.splitlines()
        assert [ln for ln in lines if ln.startswith("0: ")] == ["0: 1", "0: 2", "0: 3"]
        chunks = [ln[3:] for ln in lines if ln.startswith("1: ")]
        assert len(chunks) + 3 == len(lines)
        assert [int(b) for c in chunks for b in c.strip("[]").split(", ")] == [104, 105]

        empty = witgen_call("--follow", *reach, "--wit", STREAMS_WIT, ECHO, "{numbers: [], bytes: []}")
        assert (empty.returncode, empty.stdout) == (0, ""), empty.stderr


def test_call_refuses_a_bad_stream_argument_and_follow_without_streams(tmp_path: Path) -> None:
    bad = witgen_call("--tcp", f"{HOST}:1", "--wit", STREAMS_WIT, ECHO, "{numbers: [1, -2], bytes: []}")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: parameter 'r'") and "Traceback" not in bad.stderr, bad.stderr
    follow = witgen_call("--follow", "--tcp", f"{HOST}:1", "--wit", OLLAMA_WIT, "ollama:llm/llm.list")
    assert follow.returncode == 2
    assert "--follow prints streams and futures as they come; ollama:llm/llm.list has none" in follow.stderr


# --------------------------------------------------------------------------- Go clients


def go_client(go_bin: Path, name: str, transport: str, nats_url: str, target: str) -> str:
    """Run the Go client `name` (`{}` standing for the transport); its stdout with its tag
    (address or prefix) as `TAG`."""
    binary = str(go_bin / name.format(transport))
    if transport == "tcp":
        cmd, env = [binary], dict(os.environ, WRPC_ADDR=target)
    else:
        cmd, env = [binary, target], dict(os.environ, NATS_URL=nats_url)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr  # stream errors are only logged there
    return done.stdout.replace(target, "TAG")


def test_go_streams_client_against_the_streams_sample(go_bin: Path, transport: str, nats_url: str) -> None:
    sample, reach = served("samples.streams.server", transport, nats_url, "t.gostreams")
    with sample:
        out = go_client(go_bin, "streams-client-{}", transport, nats_url, reach[1] if transport == "tcp" else "t.gostreams")
    # As against the Go server: 21 lines, one item each, every number and byte in order.
    assert len(out.splitlines()) == 21, out
    check_go_client_output(out, "TAG")


def test_go_keyvalue_client_against_the_keyvalue_sample(go_bin: Path, transport: str, nats_url: str) -> None:
    sample, reach = served("samples.keyvalue.provider", transport, nats_url, "t.kv")
    with sample:
        ours = go_client(
            go_bin, "wasi-keyvalue-{}-client", transport, nats_url, reach[1] if transport == "tcp" else "t.kv"
        )
        # The handle the sample gives is the bucket's name, as the Go server's.
        opened = witgen_call(*reach, "--wit", KEYVALUE_WIT, "wasi:keyvalue/store.open", '"example"')
        assert opened.stdout == f"ok({list(b'example')})\n", opened.stderr
    if transport == "tcp":
        with GoServer(go_bin / "wasi-keyvalue-tcp-server") as go:
            theirs = go_client(go_bin, "wasi-keyvalue-{}-client", transport, nats_url, go.address)
    else:
        server = subprocess.Popen(
            [str(go_bin / "wasi-keyvalue-nats-server")],
            env=dict(os.environ, NATS_URL=nats_url, WRPC_PREFIX="t.gokv"),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            theirs = ""
            for _ in range(100):  # until the Go server subscribed: its client would wait forever
                probe = witgen_call(
                    "--nats", nats_url, "--prefix", "t.gokv", "--timeout", "1",
                    "--wit", KEYVALUE_WIT, "wasi:keyvalue/store.open", '"probe"',
                )  # fmt: skip
                if probe.returncode == 0:
                    theirs = go_client(go_bin, "wasi-keyvalue-{}-client", transport, nats_url, "t.gokv")
                    break
        finally:
            server.send_signal(2)
            server.wait(10)
    assert ours == theirs == "TAG key: foo\n"


# --------------------------------------------------------------------------- ollama


CHAT = '{model: "reverse:latest", messages: [{role: "user", content: "the quick brown fox"}]}'


def test_ollama_streamed_chat_followed_token_by_token(transport: str, nats_url: str) -> None:
    """`--follow` prints each token while the model is still writing the next ones."""
    from samples.ollama.provider import tokens

    reply = "the quick brown fox"[::-1]
    expected = [f'"{t}"' for t in tokens(reply)]
    assert len(expected) == 4
    sample, reach = served("samples.ollama.provider", transport, nats_url, "t.ollamastream", "--token-delay", "0.5")
    with sample:
        proc = subprocess.Popen(
            [sys.executable, "-m", "witgen", "call", *reach, "--wit", OLLAMA_WIT, "--follow",
             "ollama:llm/streaming.chat-stream", CHAT],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            # Three more tokens follow, half a second apart: the call is still running.
            still_running = proc.poll() is None
            rest, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert [first.rstrip("\n"), *rest.splitlines()] == expected
        assert still_running

        whole = witgen_call(*reach, "--wit", OLLAMA_WIT, "ollama:llm/streaming.chat-stream", CHAT)
        assert whole.stdout == f"ok([{', '.join(expected)}])\n", whole.stderr
        missing = witgen_call(
            "--follow", *reach, "--wit", OLLAMA_WIT, "ollama:llm/streaming.chat-stream",
            '{model: "nope:latest", messages: []}',
        )  # fmt: skip
        assert missing.returncode == 0, missing.stderr
        assert missing.stdout.startswith("err({status-code: 404,")


class StreamingOllama(ThreadingHTTPServer):
    """Answers a streamed `POST /api/chat` as Ollama does: one JSON object per line, the
    last with `done: true`; an unknown model is a 404 with an `error` field."""

    def __init__(self) -> None:
        super().__init__((HOST, 0), _ChatHandler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


class _ChatHandler(BaseHTTPRequestHandler):
    server: StreamingOllama

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        if body["model"] not in ("llama3:latest", "broken:latest"):
            data = json.dumps({"error": f"model '{body['model']}' not found"}).encode()
            self.send_response(404, "Not Found")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for token in ["Hello", ", ", "world"]:
            line = {"model": body["model"], "message": {"role": "assistant", "content": token}, "done": False}
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()
            if body["model"] == "broken:latest":
                self.wfile.write(b"{not json\n")
                return
        last = {"model": body["model"], "message": {"role": "assistant", "content": ""}, "done": True}
        self.wfile.write(json.dumps(last).encode() + b"\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_ollama_streamed_chat_forwarded_to_ollama() -> None:
    ollama = StreamingOllama()
    threading.Thread(target=ollama.serve_forever, daemon=True).start()
    try:
        sample, reach = served("samples.ollama.provider", "tcp", "", "", "--ollama-url", ollama.url)
        with sample:
            chat = '{model: "llama3:latest", messages: [{role: "user", content: "hi"}]}'
            done = witgen_call("--follow", *reach, "--wit", OLLAMA_WIT, "ollama:llm/streaming.chat-stream", chat)
            missing = witgen_call(*reach, "--wit", OLLAMA_WIT, "ollama:llm/streaming.chat-stream", CHAT)
            broken = witgen_call(
                "--follow", *reach, "--wit", OLLAMA_WIT, "ollama:llm/streaming.chat-stream",
                chat.replace("llama3", "broken"),
            )  # fmt: skip
    finally:
        ollama.shutdown()
        ollama.server_close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['"Hello"', '", "', '"world"']
    assert ollama.bodies[0] == {"model": "llama3:latest", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert missing.stdout.startswith('err({status-code: 404, status: "404 Not Found", error-message: "model'), missing
    # A stream that fails midway: the tokens before, then one error line.
    assert (broken.returncode, broken.stdout) == (1, '"Hello"\n'), broken.stderr
    assert broken.stderr.startswith("error: ") and len(broken.stderr.splitlines()) == 1, broken.stderr


def test_witgen_call_prints_the_same_against_the_go_streams_server(go_bin: Path, transport: str, nats_url: str) -> None:
    args = ["--wit", STREAMS_WIT, ECHO, "{numbers: [1, 2, 3], bytes: [104, 105]}"]
    sample, reach = served("samples.streams.server", transport, nats_url, "t.callstreams")
    with sample:
        ours = witgen_call(*reach, *args).stdout
    if transport == "tcp":
        with GoServer(go_bin / "streams-server-tcp") as go:
            theirs = witgen_call("--tcp", go.address, *args)
    else:
        server = subprocess.Popen(
            [str(go_bin / "streams-server-nats")],
            env=dict(os.environ, NATS_URL=nats_url, WRPC_PREFIX="t.gostreamscall"),
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):  # until the Go server subscribed
                theirs = witgen_call("--nats", nats_url, "--prefix", "t.gostreamscall", "--timeout", "1", *args)
                if "no responders" not in theirs.stderr:
                    break
        finally:
            server.send_signal(2)
            server.wait(10)
    assert theirs.returncode == 0, theirs.stderr
    assert ours == theirs.stdout == "([1, 2, 3], [104, 105])\n"


# --------------------------------------------------------------------------- futures, nested streams


def test_call_futures_and_streams_in_records(tmp_path: Path) -> None:
    """A future result printed once it resolves; a stream in a record followed with its
    field's name; a future argument given as its value."""
    import test_wrpc_streams as flows
    from tcp_support import generate

    from witgen.runtime.tcp import TcpBus

    wit = tmp_path / "flowsamples.wit"  # where generate() writes the WIT
    generate(flows.FLOWS, "flowsamples", tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        base = "flowsamples.witgen_test_flows"
        types = importlib.import_module(f"{base}.flows")
        table = importlib.import_module(f"{base}.provider").dispatch_table(flows=flows.Flows(types))
    finally:
        sys.path.remove(str(tmp_path))
    bus = TcpBus.connect_sync(f"{HOST}:0")
    try:
        bus.serve(table)
        reach = ["--tcp", bus.address, "--wit", str(wit)]
        later = witgen_call(*reach, "witgen-test:flows/flows.later", '"soon"')
        followed = witgen_call(*reach, "--follow", "witgen-test:flows/flows.later", '"soon"')
        length = witgen_call(*reach, "witgen-test:flows/flows.length", '"four"')
        bundle = witgen_call(*reach, "witgen-test:flows/flows.bundle", "3")
        items = witgen_call(*reach, "--follow", "witgen-test:flows/flows.bundle", "3")
    finally:
        bus.close(2)
    assert (later.returncode, later.stdout) == (0, '"soon"\n'), later.stderr
    assert (followed.returncode, followed.stdout) == (0, '"soon"\n'), followed.stderr
    assert (length.returncode, length.stdout) == (0, "4\n"), length.stderr
    assert (bundle.returncode, bundle.stdout) == (0, '{name: "b", items: [0, 1, 2]}\n'), bundle.stderr
    assert (items.returncode, items.stdout) == (0, "items: 0\nitems: 1\nitems: 2\n"), items.stderr
