"""`witgen generate` touches only files it owns, and only inside its output folder.

A file is witgen's when its bytes hash to what the manifest (or the journal of
a killed run) recorded for that path. Anything else at a path witgen writes is
refused (exit 1, one line naming it and what to do, nothing written); at a path
witgen would delete it is kept, forgotten, and named in a warning. No path is
ever followed through a symbolic link below the output folder, and entries of a
manifest or journal that leave the folder are ignored with a warning.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli_generate import CONFIG, invoke, make_project, snapshot
from test_workflow_support import env, fake_render
from witgen.workflow import digest, render, writer


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with both targets generated, and a folder beside it that witgen must never touch."""
    root = make_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    monkeypatch.setattr(render, "render_target", fake_render)
    monkeypatch.setattr(digest, "_fingerprint", "pinned")
    monkeypatch.setenv("NO_COLOR", "1")
    assert invoke("generate", "-q") == (0, "", "")
    (tmp_path / "outside").mkdir()
    return root


def outside(root: Path) -> Path:
    return root.parent / "outside"


def manifest_files(out: Path) -> dict[str, str]:
    files = json.loads((out / writer.MANIFEST).read_text())["files"]
    assert isinstance(files, dict)
    return files


def link_folder_outside(root: Path, rel: str) -> Path:
    """Move the generated folder `rel` of alpha outside the project and leave a link in its place."""
    gen = root / "alpha/gen"
    moved = outside(root) / rel.replace("/", "_")
    (gen / rel).rename(moved)
    (gen / rel).symlink_to(moved, target_is_directory=True)
    return moved


def only_client_part(root: Path) -> None:
    """From now on witgen generates no `types/` files: every one it wrote there is to be deleted."""
    (root / "pyproject.toml").write_text(CONFIG.replace('parts = ["types", "client"]', 'parts = ["client"]'))


# --------------------------------------------------------------------------- symbolic links


def test_files_to_delete_behind_a_linked_folder_survive(project: Path) -> None:
    moved = link_folder_outside(project, "types")
    before = snapshot(moved)
    only_client_part(project)
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert snapshot(moved) == before == {"one.py": before["one.py"], "two.py": before["two.py"]}
    assert (project / "alpha/gen/types").is_symlink()
    warnings = err.splitlines()
    assert len(warnings) == 2 and all("alpha/gen/types is a symbolic link" in w for w in warnings), err
    assert all(w.startswith("warning: alpha: ") for w in warnings)
    assert not any(rel.startswith("types/") for rel in manifest_files(project / "alpha/gen"))


def test_files_to_write_behind_a_linked_folder_are_refused(project: Path) -> None:
    moved = link_folder_outside(project, "types")
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    (project / "beta/wit/one.wit").write_text("package beta:one;\n// changed\n")
    before = snapshot(project.parent)
    code, out, err = invoke("generate")
    assert code == 1 and out == ""
    assert snapshot(project.parent) == before  # neither target written: all or nothing
    assert "alpha/gen/types is a symbolic link" in err
    assert "remove or move the link" in err
    assert "Traceback" not in err and all(line.startswith("error: ") for line in err.splitlines())
    assert (moved / "one.py").read_text() == before["outside/types/one.py"].decode()


def test_a_linked_file_in_the_output_is_neither_replaced_nor_deleted(project: Path) -> None:
    gen = project / "alpha/gen"
    mine = outside(project) / "mine.py"
    mine.write_bytes((gen / "types/one.py").read_bytes())  # even the very bytes witgen wrote
    kept = mine.read_bytes()
    (gen / "types/one.py").unlink()
    (gen / "types/one.py").symlink_to(mine)
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 1 and "alpha/gen/types/one.py is a symbolic link" in err
    assert (gen / "types/one.py").is_symlink()

    (project / "alpha/wit/one.wit").unlink()  # now witgen would delete it instead
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert (gen / "types/one.py").is_symlink() and "alpha/gen/types/one.py is a symbolic link" in err
    assert mine.read_bytes() == kept


def test_an_output_folder_that_is_itself_a_link_is_used_as_named(project: Path) -> None:
    """The user names OUT, link or not; only links below it are never followed."""
    real = outside(project) / "alpha-gen"
    (project / "alpha/gen").rename(real)
    (project / "alpha/gen").symlink_to(real, target_is_directory=True)
    (project / "alpha/wit/two.wit").unlink()
    code, out, err = invoke("generate", "-t", "alpha")
    assert (code, err) == (0, "")
    assert out == "alpha: 0 written, 4 unchanged, 2 deleted -> alpha/gen\n"
    assert sorted(p.name for p in (real / "types").iterdir()) == ["one.py"]


def test_a_planted_temporary_link_is_not_written_through(project: Path) -> None:
    victim = outside(project) / "victim.py"
    victim.write_text("keep me\n")
    (project / "alpha/gen/types" / f".one.py{writer.TMP_SUFFIX}").symlink_to(victim)
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert victim.read_text() == "keep me\n"
    assert "// changed" in (project / "alpha/gen/types/one.py").read_text()


# --------------------------------------------------------------------------- hand edits


def test_a_hand_edited_file_to_rewrite_is_refused_with_what_to_do(project: Path) -> None:
    edited = project / "alpha/gen/types/one.py"
    edited.write_text(edited.read_text() + "EXTRA = 1  # my own line\n")  # the header stays
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    (project / "beta/wit/one.wit").write_text("package beta:one;\n// changed\n")
    before = snapshot(project)
    code, out, err = invoke("generate")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: alpha: alpha/gen/types/one.py changed since witgen wrote it, so witgen will not overwrite it:"
        " delete or move it if witgen should own it again",
    ]
    assert snapshot(project) == before  # beta, alpha's other files, manifests: nothing written

    edited.unlink()
    assert invoke("generate", "-q") == (0, "", "")
    assert "// changed" in edited.read_text()
    assert invoke("check", "-q")[0] == 0


def test_a_hand_edited_file_to_delete_is_kept_and_forgotten(project: Path) -> None:
    gen = project / "alpha/gen"
    (gen / "types/two.py").write_text("# now my own module\n")
    (project / "alpha/wit/two.wit").unlink()
    code, out, err = invoke("generate", "-t", "alpha")
    assert code == 0
    assert err.splitlines() == [
        "warning: alpha: alpha/gen/types/two.py changed since witgen wrote it, so witgen will not delete it"
        " and no longer tracks it: delete it if it is not wanted",
    ]
    assert out == "alpha: 0 written, 4 unchanged, 1 deleted -> alpha/gen\n"
    assert (gen / "types/two.py").read_text() == "# now my own module\n"
    assert not (gen / "client/two.py").exists()
    assert "types/two.py" not in manifest_files(gen)
    assert invoke("generate", "-t", "alpha", "--full") == (0, "alpha: 0 written, 4 unchanged -> alpha/gen\n", "")


def test_a_file_edited_between_planning_and_writing_is_left(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    header = "# Generated by witgen test renderer. DO NOT EDIT.\n"
    writer.apply(writer.plan(out, {"a.py": header, "b.py": header}, "in"))
    plan = writer.plan(out, {"a.py": header + "A = 1\n"}, "in2")
    assert list(plan.write) == ["a.py"] and plan.delete == ["b.py"]
    (out / "b.py").write_text("mine now\n")  # while the run renders its other targets
    with pytest.raises(writer.WriteError, match="b.py changed since witgen wrote it"):
        writer.apply(plan)
    assert (out / "a.py").read_text() == header and (out / "b.py").read_text() == "mine now\n"
    assert not (out / writer.JOURNAL).exists()


def test_a_file_where_a_generated_folder_goes_stops_the_run_before_any_write(project: Path) -> None:
    shutil.rmtree(project / "alpha/gen/client")
    (project / "alpha/gen/client").write_text("a file of mine\n")
    (project / "beta/wit/one.wit").write_text("package beta:one;\n// changed\n")
    before = snapshot(project)
    code, out, err = invoke("generate")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: alpha: alpha/gen/client is a file where witgen needs a folder: move it away if witgen should generate there"
    ]
    assert snapshot(project) == before


# --------------------------------------------------------------------------- tampered records


def test_manifest_entries_leaving_the_output_are_ignored_with_a_warning(project: Path) -> None:
    gen = project / "alpha/gen"
    victim = project.parent / "victim.py"
    absolute = outside(project) / "absolute.py"
    for path in (victim, absolute):
        path.write_bytes((gen / "types/two.py").read_bytes())  # hashes that match the records
    data = json.loads((gen / writer.MANIFEST).read_text())
    recorded = data["files"]["types/two.py"]
    data["files"].update({"../../../victim.py": recorded, str(absolute): recorded})
    (gen / writer.MANIFEST).write_text(json.dumps(data))
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert victim.exists() and absolute.exists()
    assert err.splitlines() == [
        f"warning: alpha: ignoring {entry!r} in alpha/gen/{writer.MANIFEST}: not a plain path inside the output folder"
        for entry in sorted(["../../../victim.py", str(absolute)])
    ]
    generated = {f"{part}/{name}.py" for part in ("types", "client") for name in ("one", "two")}
    assert set(manifest_files(gen)) == {"__init__.py", "py.typed", *generated}


def test_a_tampered_journal_deletes_nothing_that_is_not_witgens(project: Path) -> None:
    gen = project / "alpha/gen"
    (gen / "notes.md").write_text("my notes\n")
    victim = project.parent / "victim.py"
    victim.write_text("keep\n")
    moved = link_folder_outside(project, "client")
    (moved / "extra.py").write_text("outside\n")
    owned = ["notes.md", "../../../victim.py", str(victim), "client/extra.py"]
    (gen / writer.JOURNAL).write_text(json.dumps({"format": 1, "owned": owned}))
    (project / "alpha/wit/one.wit").write_text("package alpha:one;\n// changed\n")
    (project / "pyproject.toml").write_text(CONFIG.replace('parts = ["types", "client"]', 'parts = ["types"]'))
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert (gen / "notes.md").read_text() == "my notes\n"
    assert victim.read_text() == "keep\n"
    assert sorted(p.name for p in moved.iterdir()) == ["extra.py", "one.py", "two.py"]
    assert not (gen / writer.JOURNAL).exists()


def test_a_journal_with_recorded_hashes_still_claims_nothing_through_a_link(project: Path) -> None:
    gen = project / "alpha/gen"
    moved = link_folder_outside(project, "client")
    data = (moved / "one.py").read_bytes()
    journal = {"format": 1, "owned": ["client/one.py"], "hashes": {"client/one.py": [digest.file_hash(data)]}}
    (gen / writer.JOURNAL).write_text(json.dumps(journal))
    (project / "pyproject.toml").write_text(CONFIG.replace('parts = ["types", "client"]', 'parts = ["types"]'))
    code, _, err = invoke("generate", "-t", "alpha")
    assert code == 0, err
    assert (moved / "one.py").read_bytes() == data


# --------------------------------------------------------------------------- check


def test_check_names_what_generate_would_refuse_or_keep(project: Path) -> None:
    (project / "alpha/gen/types/one.py").write_text("# mine\n")
    link_folder_outside(project, "client")
    code, out, err = invoke("check", "-t", "alpha")
    assert code == 1
    assert "  changed: alpha/gen/types/one.py" in out.splitlines()
    lines = err.splitlines()
    assert "warning: alpha: alpha/gen/types/one.py changed since witgen wrote it, so witgen will not overwrite it:" \
        " delete or move it if witgen should own it again" in lines
    assert any(line.startswith("warning: alpha: alpha/gen/client is a symbolic link") for line in lines), err


# --------------------------------------------------------------------------- the real command


def test_real_command_never_deletes_through_a_linked_folder(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "wit").mkdir(parents=True)
    wit = root / "wit" / "a.wit"
    wit.write_text("package demo:a;\ninterface i { f: func(x: u32) -> string; }\n")

    def witgen(*args: str) -> subprocess.CompletedProcess[str]:
        environ = env(pin=False, WITGEN_CACHE_DIR=str(tmp_path / "cache"))
        return subprocess.run([sys.executable, "-m", "witgen", *args], cwd=root, capture_output=True, text=True,
                              env=environ)

    assert witgen("generate", "wit", "-o", "out").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    (root / "out" / "demo_a").rename(elsewhere)
    (root / "out" / "demo_a").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    assert "i.py" in before
    wit.write_text("package demo:b;\ninterface j { g: func() -> u8; }\n")  # nothing under demo_a any more
    proc = witgen("generate", "wit", "-o", "out")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(elsewhere) == before
    assert "out/demo_a is a symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert (root / "out" / "demo_b" / "j.py").exists()
