"""What `witgen generate` imports after one WIT file changed (warm caches): only what it uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WIT = """package demo:shop@1.0.0;

interface orders {
    /// One order.
    record order { id: u64, note: option<string> }
    place: func(o: order) -> result<u64, string>;
}

world shop { export orders; }
"""

RUN = """
import sys
from witgen.cli import main
try:
    main(sys.argv[2:], standalone_mode=False)
finally:
    with open(sys.argv[1], "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
"""


def _generate(tmp: Path, wit: Path, out: Path) -> set[str]:
    env = dict(os.environ, WITGEN_CACHE_DIR=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "config"))
    listing = tmp / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", RUN, str(listing), "generate", str(wit), "-o", str(out), "-q"],
        check=True,
        env=env,
        cwd=tmp,
        capture_output=True,
    )
    return set(listing.read_text().split())


def test_one_changed_file_loads_no_openssl(tmp_path: Path) -> None:
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "shop.wit").write_text(WIT)
    out = tmp_path / "bindings"
    _generate(tmp_path, wit, out)
    (wit / "shop.wit").write_text(WIT.replace("One order.", "One order, edited."))
    modules = _generate(tmp_path, wit, out)
    assert "One order, edited." in (out / "demo_shop_v1_0_0" / "orders.py").read_text()
    assert "witgen.codegen.render" in modules  # the run rendered
    # Cache entries are signed with keyed BLAKE2b: neither hmac nor OpenSSL is loaded.
    assert not {"hmac", "hashlib", "_hashlib"} & modules
    # msgspec reads type hints with `typing`, as where typing_extensions is not installed.
    assert "msgspec" in modules
    assert "typing_extensions" not in modules
    # The manifest and records are read and written with msgspec, which the render loaded.
    assert "json" not in modules


def test_nothing_changed_loads_no_msgspec(tmp_path: Path) -> None:
    """The fast path (inputs as the manifest records them, files as it lists them) reads the
    manifest with json and renders nothing: msgspec, the front end and codegen stay out."""
    wit = tmp_path / "wit"
    wit.mkdir()
    (wit / "shop.wit").write_text(WIT)
    out = tmp_path / "bindings"
    _generate(tmp_path, wit, out)
    modules = _generate(tmp_path, wit, out)
    assert "json" in modules and "witgen.workflow.check" in modules
    assert not {"msgspec", "witgen.codegen", "witgen.resolver", "witgen.frontend"} & modules


def test_a_manifest_of_other_inputs_is_not_theirs(tmp_path: Path) -> None:
    from witgen.workflow.check import is_fresh
    from witgen.workflow.confined import Folder
    from witgen.workflow.writer import MANIFEST, Manifest

    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(Manifest("a" * 64, {}).to_text())
    with Folder.opened(out) as folder:
        for found in (Manifest.load(folder), Manifest.load(folder, "a" * 64)):
            assert found is not None and found.inputs == "a" * 64
        assert Manifest.load(folder, "b" * 64) is None
    assert is_fresh(out, "a" * 64) and not is_fresh(out, "b" * 64)
    (out / MANIFEST).write_text(Manifest("a" * 64, {"x.py": "b" * 64}).to_text())  # holds "b"*64, not as its inputs
    with Folder.opened(out) as folder:
        assert Manifest.load(folder, "b" * 64) is None
