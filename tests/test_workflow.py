"""Config, digests, crash-safe writing and the freshness check, in process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from witgen.workflow import check, config, digest, writer
from witgen.workflow.config import ConfigError, Target

ROOT = Path(__file__).resolve().parent.parent


def write_pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- config


def test_single_table_is_one_target(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.witgen]\nwit = "wit"\nout = "gen"\nworlds = ["w"]\n')
    [target] = config.load_config(path)
    assert target.wit == tmp_path / "wit"
    assert target.out == tmp_path / "gen"
    assert target.worlds == ("w",)
    assert target.parts == ("types", "provider", "client")
    assert target.name == "gen"
    assert target.root == tmp_path


def test_targets_inherit_table_defaults(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        """
[tool.witgen]
parts = ["types"]
features = ["beta"]

[[tool.witgen.targets]]
name = "a"
wit = "a/wit"
out = "a/gen"

[[tool.witgen.targets]]
name = "b"
wit = "b/wit"
out = "b/gen"
parts = ["client", "types"]
all-features = true
""",
    )
    a, b = config.load_config(path)
    assert (a.name, a.parts, a.features, a.all_features) == ("a", ("types",), ("beta",), False)
    assert (b.name, b.parts, b.all_features) == ("b", ("client", "types"), True)
    assert b.options()["parts"] == ["types", "client"]  # canonical order in digests


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('wit = "w"\nout = "o"\ncolour = 1\n', "unknown key 'colour'"),
        ('wit = "w"\n', "`out` must be a non-empty string"),
        ('wit = "w"\nout = "o"\nworlds = "x"\n', "`worlds` must be an array of strings"),
        ('wit = "w"\nout = "o"\nparts = ["types", "server"]\n', "unknown part 'server'"),
        ('wit = "w"\nout = "o"\nparts = []\n', "`parts` is empty"),
        ('wit = "w"\nout = "o"\nall-features = "yes"\n', "`all-features` must be true or false"),
        ("targets = []\n", "`targets` must be a non-empty array"),
        ('[[tool.witgen.targets]]\nwit = "w"\nout = "o"\nbogus = 1\n', "#1: unknown key 'bogus'"),
        (
            '[[tool.witgen.targets]]\nwit = "w"\nout = "o"\n[[tool.witgen.targets]]\nwit = "x"\nout = "o"\n',
            "two targets are named 'o'",
        ),
        (
            '[[tool.witgen.targets]]\nname = "1"\nwit = "w"\nout = "o"\n'
            '[[tool.witgen.targets]]\nname = "2"\nwit = "x"\nout = "o/sub"\n',
            "two targets write into",
        ),
        ('wit = "w"\nout = "o"\n[[', "pyproject.toml"),
    ],
)
def test_invalid_config_is_reported(tmp_path: Path, body: str, message: str) -> None:
    path = write_pyproject(tmp_path, "[tool.witgen]\n" + body)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        config.load_config(path)


def test_find_pyproject_walks_up_to_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    inner = tmp_path / "repo" / "pkg" / "sub"
    inner.mkdir(parents=True)
    write_pyproject(tmp_path, '[tool.witgen]\nwit = "w"\nout = "o"\n')  # outside the repo
    write_pyproject(tmp_path / "repo" / "pkg", "[project]\nname = 'x'\n")  # no witgen table
    assert config.find_pyproject(inner) is None
    found = write_pyproject(tmp_path / "repo", '[tool.witgen]\nwit = "w"\nout = "o"\n')
    assert config.find_pyproject(inner) == found


def test_select_by_name(tmp_path: Path) -> None:
    targets = [Target("a", Path("w"), Path("a")), Target("b", Path("w"), Path("b"))]
    assert [t.name for t in config.select(targets, ["b", "b"])] == ["b"]
    assert config.select(targets, []) == targets
    with pytest.raises(ConfigError, match="no target named 'c'"):
        config.select(targets, ["c"])


# --------------------------------------------------------------------------- digest


def make_wit(folder: Path) -> Path:
    wit = folder / "wit"
    (wit / "deps" / "dep").mkdir(parents=True)
    (wit / "a.wit").write_text("package a:b;\ninterface i {}\n")
    (wit / "deps" / "dep" / "d.wit").write_text("package d:d;\n")
    (wit / "notes.txt").write_text("not WIT\n")
    return wit


def test_input_digest_follows_every_input(tmp_path: Path) -> None:
    wit = make_wit(tmp_path)
    target = Target("t", wit, tmp_path / "gen")
    base = digest.input_digest(target)
    assert digest.input_digest(target) == base
    assert [p.name for p in digest.wit_files(wit)] == ["a.wit", "d.wit"]

    (wit / "notes.txt").write_text("changed, but not WIT\n")
    assert digest.input_digest(target) == base

    (wit / "deps" / "dep" / "d.wit").write_text("package d:d;\n\n")
    changed_dep = digest.input_digest(target)
    assert changed_dep != base

    (wit / "deps" / "dep" / "e.wit").write_text("")
    assert digest.input_digest(target) != changed_dep

    assert digest.input_digest(target._replace(worlds=("w",))) != digest.input_digest(target)
    assert digest.input_digest(target._replace(features=("x",))) != digest.input_digest(target)
    assert digest.input_digest(target._replace(parts=("types",))) != digest.input_digest(target)
    assert digest.input_digest(target, generator="other") != digest.input_digest(target)


def test_input_digest_does_not_depend_on_location(tmp_path: Path) -> None:
    wit = make_wit(tmp_path / "one")
    moved = tmp_path / "two" / "elsewhere" / "wit"
    shutil.copytree(wit, moved)
    assert digest.input_digest(Target("t", wit, Path("o"))) == digest.input_digest(Target("u", moved, Path("p")))


def test_generator_fingerprint_names_the_black_in_use() -> None:
    from importlib.metadata import version

    assert digest.black_version() == version("black")
    assert len(digest.generator_fingerprint()) == 64


# --------------------------------------------------------------------------- writer


HEADER = "# Generated by witgen 0.0.0 from a.wit. DO NOT EDIT.\n"
FILES = {"__init__.py": HEADER, "types/a.py": HEADER + "A = 1\n", "py.typed": ""}


def generate(out: Path, files: dict[str, str], inputs: str = "in") -> writer.Plan:
    plan = writer.plan(out, files, inputs)
    writer.apply(plan)
    return plan


def listing(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_first_write_creates_files_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    plan = generate(out, FILES)
    assert sorted(plan.write) == sorted(FILES)
    on_disk = listing(out)
    manifest = json.loads(on_disk.pop(writer.MANIFEST))
    assert on_disk == {k: v.encode() for k, v in FILES.items()}
    assert manifest["inputs"] == "in"
    assert manifest["files"] == {k: digest.file_hash(v.encode()) for k, v in FILES.items()}
    again = writer.plan(out, FILES, "in")
    assert again.clean and sorted(again.unchanged) == sorted(FILES)


def test_only_changed_files_are_replaced(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    before = {rel: os.stat(out / rel).st_ino for rel in FILES}
    plan = generate(out, {**FILES, "types/a.py": HEADER + "A = 2\n"})
    assert list(plan.write) == ["types/a.py"]
    assert os.stat(out / "__init__.py").st_ino == before["__init__.py"]
    assert os.stat(out / "types/a.py").st_ino != before["types/a.py"]
    assert (out / "types/a.py").read_text().endswith("A = 2\n")


def test_files_no_longer_generated_are_deleted_but_foreign_ones_stay(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, {**FILES, "old/gone.py": HEADER})
    (out / "types" / "mine.py").write_text("hand-written\n")
    plan = generate(out, FILES)
    assert plan.delete == ["old/gone.py"]
    assert not (out / "old").exists()  # emptied folders go too
    assert (out / "types" / "mine.py").read_text() == "hand-written\n"


def test_foreign_file_in_the_way_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    out.mkdir()
    (out / "__init__.py").write_text("mine\n")
    plan = writer.plan(out, FILES, "in")
    assert plan.conflicts == ["__init__.py"]
    with pytest.raises(writer.WriteError, match="did not generate"):
        writer.apply(plan)
    assert listing(out) == {"__init__.py": b"mine\n"}  # nothing else written either


def test_hand_edited_generated_file_is_kept_until_removed(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    (out / "py.typed").write_text("edited\n")  # the manifest's hash says it is no longer witgen's
    (out / "types/a.py").write_text(HEADER + "A = 3\n")  # the header alone does not make it witgen's
    plan = writer.plan(out, FILES, "in")
    assert plan.conflicts == ["py.typed", "types/a.py"] and not plan.write
    with pytest.raises(writer.WriteError, match="changed since witgen wrote it"):
        writer.apply(plan)
    assert (out / "py.typed").read_text() == "edited\n"
    (out / "py.typed").unlink()
    (out / "types/a.py").unlink()
    assert sorted(generate(out, FILES).write) == ["py.typed", "types/a.py"]
    assert (out / "py.typed").read_text() == ""


def test_files_with_the_header_are_witgens_without_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    (out / writer.MANIFEST).unlink()
    (out / "types/a.py").write_text(HEADER + "A = 0\n")
    (out / "types/stale.py").write_text(HEADER)
    plan = generate(out, FILES)
    assert list(plan.write) == ["types/a.py"] and plan.delete == []
    assert (out / writer.MANIFEST).exists()
    # Not listed anywhere, so not deleted by generate; check reports it.
    assert check.compare(out, FILES, "in").extra == ["types/stale.py"]


@pytest.mark.parametrize("rel", ["../x.py", "/abs.py", "a/../../b.py", "", "a//b.py", writer.MANIFEST, "x.witgen-tmp"])
def test_paths_outside_the_output_are_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(writer.WriteError, match="refusing"):
        writer.plan(tmp_path / "gen", {rel: "x"}, "in")


def test_manifest_entries_outside_the_output_are_ignored(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    victim = tmp_path / "victim.py"
    victim.write_text("keep\n")
    data = json.loads((out / writer.MANIFEST).read_text())
    data["files"]["../victim.py"] = "0" * 64
    (out / writer.MANIFEST).write_text(json.dumps(data))
    generate(out, FILES)
    assert victim.read_text() == "keep\n"


def test_interrupted_run_is_completed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    new = {**FILES, "types/a.py": HEADER + "A = 2\n", "types/b.py": "no header\n"}
    # What a run killed after its journal and one new file leaves behind (it rendered another b.py):
    killed = "no header, written by the killed run\n"
    written = {**new, "types/b.py": killed}
    hashes = {rel: [digest.file_hash(text.encode())] for rel, text in written.items()}
    (out / writer.JOURNAL).write_text(json.dumps({"format": 1, "owned": sorted(new), "hashes": hashes}))
    (out / "types" / "b.py").write_text(killed)
    (out / "types" / ".a.py.witgen-tmp").write_text("torn")
    assert not check.is_fresh(out, "in")
    assert check.compare(out, FILES, "in").interrupted
    plan = generate(out, new, "in2")
    assert plan.interrupted and sorted(plan.write) == ["types/a.py", "types/b.py"]
    assert not (out / writer.JOURNAL).exists()
    assert not (out / "types" / ".a.py.witgen-tmp").exists()
    assert check.is_fresh(out, "in2")


# --------------------------------------------------------------------------- check


def test_fast_path_sees_edits_deletions_and_input_changes(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, FILES)
    assert check.is_fresh(out, "in")
    assert not check.is_fresh(out, "other inputs")
    (out / "types/a.py").write_text(HEADER + "A = 1\n\n")
    assert not check.is_fresh(out, "in")
    (out / "types/a.py").unlink()  # an edited file is the user's: witgen regenerates it once removed
    generate(out, FILES)
    (out / "py.typed").unlink()
    assert not check.is_fresh(out, "in")
    generate(out, FILES)
    (out / writer.MANIFEST).write_text("{not json")
    assert not check.is_fresh(out, "in")


def test_compare_lists_changed_missing_and_extra(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    generate(out, {**FILES, "types/b.py": HEADER})
    (out / "types/a.py").write_text(HEADER + "A = 9\n")
    (out / "__init__.py").unlink()
    (out / "notes.md").write_text("foreign, not reported\n")
    report = check.compare(out, {**FILES, "types/c.py": HEADER}, "in")
    assert (report.changed, report.missing, report.extra) == (["types/a.py"], ["__init__.py", "types/c.py"], ["types/b.py"])
    assert not report.fresh
    assert report.texts["types/a.py"] == (HEADER + "A = 9\n", HEADER + "A = 1\n")
    assert report.texts["types/b.py"] == (HEADER, None)


def test_unified_diff_format() -> None:
    assert check.unified_diff("p.py", "a\nb\n", "a\nc\n") == (
        "--- a/p.py\n+++ b/p.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    )
    assert check.unified_diff("p.py", None, "x") == (
        "--- /dev/null\n+++ b/p.py\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n"
    )
    assert check.unified_diff("p.py", "x\n", None) == "--- a/p.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"


def test_writes_hold_a_lock_on_the_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    out = tmp_path / "gen"
    out.mkdir()
    seen: list[bool] = []

    def probe() -> None:  # at every step of the write, another open of the folder cannot lock it
        fd = os.open(out, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(False)
        except BlockingIOError:
            seen.append(True)
        finally:
            os.close(fd)

    monkeypatch.setattr(writer, "checkpoint", probe)
    generate(out, FILES)
    assert len(seen) == 3 + 3 * len(FILES) + 3 + 1 and all(seen)
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards
    os.close(fd)


def test_the_generator_fingerprint_covers_every_module_generating_imports(tmp_path: Path) -> None:
    """The packages the fingerprint leaves out are never imported by a render, so editing
    them cannot change generated text."""
    script = f"""
import sys
from pathlib import Path
from witgen.workflow.config import Target
from witgen.workflow.render import render_target
for sample in sorted(Path({str(ROOT / "samples")!r}).iterdir()):
    if (sample / "wit").is_dir():
        target = Target("s", sample / "wit", Path({str(tmp_path)!r}) / sample.name, root=sample,
                        parts=("types", "provider", "client", "host"))
        render_target(target)
print("\\n".join(sorted(m for m in sys.modules if m.startswith("witgen."))))
"""
    env = dict(os.environ, WITGEN_CACHE_DIR="", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    imported = proc.stdout.split()
    assert "witgen.codegen.render" in imported and "witgen.resolver.loader" in imported
    outside = {"cli", "workflow", "cachesign"}  # no part of the generated text
    left_out = set(digest._NOT_GENERATOR) - outside
    assert [m for m in imported if m.split(".")[1] in left_out] == []


def test_input_names_follow_a_linked_file_and_keep_the_others_relative(tmp_path: Path) -> None:
    from witgen.workflow.render import input_names

    project = tmp_path / "project"
    (project / "wit" / "deps" / "a").mkdir(parents=True)
    (project / "wit" / "main.wit").write_text("package x:y;\n")
    (project / "wit" / "deps" / "a" / "a.wit").write_text("package x:a;\n")
    (project / "shared").mkdir()
    (project / "shared" / "b.wit").write_text("package x:b;\n")
    (project / "wit" / "deps" / "b.wit").symlink_to(project / "shared" / "b.wit")
    outside = tmp_path / "outside.wit"
    outside.write_text("package x:c;\n")
    (project / "wit" / "deps" / "c.wit").symlink_to(outside)
    target = Target("t", project / "wit", project / "out", root=project)
    assert input_names(target) == ("wit/main.wit", "shared/b.wit", "wit/deps/c.wit", "wit/deps/a/a.wit")
    single = Target("t", project / "wit" / "main.wit", project / "out", root=project)
    assert input_names(single) == ("wit/main.wit",)
