"""Functions a world imports or exports directly, addressed by their bare name.

`witgen wire --params NAME` and `witgen call ... NAME` take the bare name of a function
of a world of the root package; on the bus such a function has the empty instance, so
its wRPC subject has no instance token.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from wit_loading import load_wit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nats_server import NatsServer, nats  # noqa: E402,F401

from witgen.cli import main as witgen  # noqa: E402
from witgen.codegen import render_bindings  # noqa: E402

WIT = """\
package t:wf;

interface i {
  f: func(x: u32) -> u32;
}

world server {
  import i;
  export hello: func(name: string) -> string;
  export nothing: func();
}
"""


@pytest.fixture()
def wit(tmp_path: Path) -> Path:
    path = tmp_path / "wf.wit"
    path.write_text(WIT)
    return path


def test_wire_selects_a_world_function(wit: Path) -> None:
    run = CliRunner().invoke
    out = run(witgen, ["wire", "encode", "--wit", str(wit), "--params", "hello", '"bob"'])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "03626f62"
    back = run(witgen, ["wire", "decode", "--wit", str(wit), "--result", "hello", "03626f62"])
    assert back.exit_code == 0 and back.output.strip() == '"bob"'
    unknown = run(witgen, ["wire", "encode", "--wit", str(wit), "--params", "nope", "1"])
    assert unknown.exit_code == 1
    assert "no world of the root package imports or exports a function `nope`" in unknown.output


@pytest.fixture()
def served(wit: Path, tmp_path: Path, nats: NatsServer) -> Iterator[str]:
    from witgen.runtime.nats import NatsBus

    files = render_bindings(load_wit(wit), inputs=["wf.wit"])
    for rel, text in files.items():
        (tmp_path / "wfgen" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "wfgen" / rel).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        server = importlib.import_module("wfgen.t_wf.server")

        class Hello:
            def hello(self, name: str) -> str:
                return f"hello {name}"

            def nothing(self) -> None:
                return None

        bus = NatsBus.connect_sync(nats.url, prefix="t.wf")
        serving = server.serve(bus, server=Hello())
        try:
            yield nats.url
        finally:
            serving.close()
            bus.close()
    finally:
        sys.path.remove(str(tmp_path))


def test_witgen_call_reaches_a_world_function_over_nats(wit: Path, served: str) -> None:
    run = CliRunner().invoke
    out = run(witgen, ["call", "--nats", served, "--prefix", "t.wf", "--wit", str(wit), "hello", '"wit"'])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == '"hello wit"'
    quiet = run(witgen, ["call", "--nats", served, "--prefix", "t.wf", "--wit", str(wit), "nothing"])
    assert quiet.exit_code == 0 and quiet.output == ""
    wrong = run(witgen, ["call", "--nats", served, "--prefix", "t.wf", "--wit", str(wit), "hello"])
    assert wrong.exit_code == 2
