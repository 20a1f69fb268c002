"""The generator fingerprint's memo: remembered beside the status of every source file,
never served once a file changed, never recorded while a file may still change unseen."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from witgen import cachesign
from witgen.workflow import digest


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # a key of this test's own
    tree = tmp_path / "gen"
    tree.mkdir()
    for name, text in {"a.py": "A = 1\n", "b.jinja": "{{ x }}\n", "c.lark": "start: x\n"}.items():
        (tree / name).write_text(text)
    return [(name, str(tree / name)) for name in ("a.py", "b.jinja", "c.lark")]


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The clock the memo is judged by, `seconds` ahead (the files look that old)."""
    now = time.time_ns()
    monkeypatch.setattr(digest, "time_ns", lambda: now + int(seconds * 1e9))


def memo_files(cache: Path) -> list[Path]:
    return sorted((cache / "fingerprint").glob("*")) if (cache / "fingerprint").exists() else []


def test_the_memo_gives_the_digest_the_files_give(sources, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    plain = digest.sources_digest("head\n", sources, None)
    later(monkeypatch, 3)
    assert digest.sources_digest("head\n", sources, cache) == plain
    assert len(memo_files(cache)) == 1  # recorded
    with monkeypatch.context() as m:  # served from the memo: no source is read
        m.setattr(digest, "open", lambda *a, **k: pytest.fail("a source was read"), raising=False)
        assert digest.sources_digest("head\n", sources, cache) == plain
    assert digest.sources_digest("another head\n", sources, cache) != plain


def test_an_edit_that_keeps_size_and_modification_time_is_seen(sources, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    later(monkeypatch, 3)
    before = digest.sources_digest("head\n", sources, cache)
    path = sources[0][1]
    st = os.stat(path)
    time.sleep(0.05)  # beyond the kernel's timestamp tick
    Path(path).write_text("A = 2\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    after = digest.sources_digest("head\n", sources, cache)
    assert after != before
    assert after == digest.sources_digest("head\n", sources, None)


def test_no_memo_while_a_file_changed_just_now(sources, tmp_path) -> None:
    cache = tmp_path / "cache"
    assert digest.sources_digest("head\n", sources, cache) == digest.sources_digest("head\n", sources, None)
    assert memo_files(cache) == []  # the files were written within RACY_NS


def test_a_memo_not_signed_with_this_users_key_is_not_served(sources, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    later(monkeypatch, 3)
    plain = digest.sources_digest("head\n", sources, cache)
    (memo,) = memo_files(cache)
    data = memo.read_bytes()
    forged = data[: -64] + b"0" * 64  # the same status, another digest, the old tag
    memo.write_bytes(forged)
    assert digest.sources_digest("head\n", sources, cache) == plain
    assert cachesign.read_entry(memo) is not None  # recorded again, signed
    assert memo.read_bytes() == data


def test_the_fingerprint_of_this_installation_is_its_sources_digest(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WITGEN_CACHE_DIR", "")
    monkeypatch.setattr(digest, "_fingerprint", None)
    head = f"witgen {digest.witgen.__version__}\nblack {digest.black_version()}\n"
    names = [name for name, _ in digest.generator_sources()]
    assert "frontend/lexer.py" in names and "templates/client.py.jinja" in names
    assert not any(name.startswith(("cli/", "workflow/", "runtime/")) for name in names)
    assert digest.generator_fingerprint() == digest.sources_digest(head, digest.generator_sources(), None)


def test_memos_of_other_source_sets_are_pruned(sources, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    later(monkeypatch, 3)
    monkeypatch.setattr(digest, "MEMOS", 2)
    for n in range(1, 4):  # three source sets (installations), one memo each
        digest.sources_digest("head\n", sources[:n], cache)
        time.sleep(0.01)  # distinct modification times
    assert len(memo_files(cache)) == 2
    with monkeypatch.context() as m:  # the newest is kept and served
        m.setattr(digest, "open", lambda *a, **k: pytest.fail("a source was read"), raising=False)
        digest.sources_digest("head\n", sources, cache)
