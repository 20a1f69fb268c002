"""Static checking: the samples pass `mypy --strict`, and a wrong provider does not.

The generated provider stubs are Protocols; a provider whose method takes or
returns the wrong types, or lacks a method, must be flagged by mypy where it is
handed to the generated dispatch table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEADER = """
from __future__ import annotations

from samples.ollama.bindings.ollama_llm.llm import (
    ChatRequest, ChatResponse, ListResponse, ShowRequest, ShowResponse, StatusError,
)
from samples.ollama.bindings.ollama_llm.provider import dispatch_table
from witgen.runtime.values import Err, Ok


class Base:
    def show(self, req: ShowRequest) -> Ok[ShowResponse] | Err[StatusError]:
        return Err(StatusError(404, "404 Not Found", req.name))

    def list_(self) -> Ok[ListResponse] | Err[StatusError]:
        return Ok(ListResponse([]))
"""

PROVIDERS = {
    "sync": """
class Provider(Base):
    def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        return Err(StatusError(500, "500", req.model))
""",
    "async": """
class Provider(Base):
    async def chat(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        return Err(StatusError(500, "500", req.model))
""",
    "wrong-parameter": """
class Provider(Base):
    def chat(self, req: str) -> Ok[ChatResponse] | Err[StatusError]:
        return Err(StatusError(500, "500", req))
""",
    "wrong-result": """
class Provider(Base):
    def chat(self, req: ChatRequest) -> Ok[str] | Err[StatusError]:
        return Ok(req.model)
""",
    "missing-method": """
class Provider(Base):
    def chat_(self, req: ChatRequest) -> Ok[ChatResponse] | Err[StatusError]:
        return Err(StatusError(500, "500", req.model))
""",
}


def _mypy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )


def test_samples_pass_mypy_strict() -> None:
    # samples/*/component/ are guest code for componentize-py: its `wit_world` bindings
    # exist only inside a component build.
    done = _mypy("samples", "--exclude", "samples/[^/]+/component/")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """mypy's output per provider file, from one mypy run over all of them."""
    folder = tmp_path_factory.mktemp("providers")
    for name, body in PROVIDERS.items():
        text = HEADER + body + "\n\ntable = dispatch_table(llm=Provider())\n"
        (folder / f"provider_{name.replace('-', '_')}.py").write_text(text)
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    done = _mypy(*sorted(str(p) for p in folder.glob("*.py")), env=env)
    out: dict[str, str] = {name: "" for name in PROVIDERS}
    for line in done.stdout.splitlines():
        for name in PROVIDERS:
            if f"provider_{name.replace('-', '_')}.py:" in line:
                out[name] += line + "\n"
    return out


@pytest.mark.parametrize("name", ["sync", "async"])
def test_sync_and_async_providers_type_check(checked: dict[str, str], name: str) -> None:
    assert checked[name] == ""


@pytest.mark.parametrize("name", ["wrong-parameter", "wrong-result", "missing-method"])
def test_a_wrong_provider_is_flagged(checked: dict[str, str], name: str) -> None:
    errors = checked[name]
    assert 'Argument "llm" to "dispatch_table" has incompatible type "Provider"' in errors, errors
    assert "LlmProvider" in errors
