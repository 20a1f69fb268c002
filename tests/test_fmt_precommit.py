"""The `witgen-fmt` pre-commit hook, run by the real `pre-commit` in a throwaway git repository.

pre-commit clones this repository at HEAD and installs witgen into the hook's own
virtualenv; a commit of a badly formatted `.wit` file is refused (and the file
formatted in place), the formatted file is then accepted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_precommit import PRE_COMMIT, commits, git, head_with_hooks, repo  # noqa: F401

from witgen.errors import Source
from witgen.witout.formatter import format_source

BAD = """package demo:greeter@0.1.0;
interface greet {
      // who to greet
   record greeting { name: string, times: u8 }



  hello: func(g: greeting)->string;
}
"""


@pytest.mark.timeout(900)
def test_badly_formatted_wit_refused_then_accepted(repo: Path) -> None:  # noqa: F811
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {Path(__file__).resolve().parent.parent.as_posix()}\n"
        f"  rev: {head_with_hooks()}\n  hooks:\n  - id: witgen-fmt\n"
    )
    wit = repo / "wit" / "greeter.wit"
    wit.write_text(BAD)
    git(repo, "add", "-A")
    refused = git(repo, "commit", "-q", "-m", "unformatted WIT", check=False)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "witgen fmt (WIT files)" in refused.stdout + refused.stderr
    assert "reformatted wit/greeter.wit" in refused.stdout + refused.stderr
    assert commits(repo) == 0
    formatted = wit.read_text()
    assert formatted == format_source(Source("greeter.wit", BAD))
    assert "  // who to greet\n  record greeting {\n    name: string,\n" in formatted

    git(repo, "add", "-A")
    accepted = git(repo, "commit", "-q", "-m", "formatted WIT", check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert commits(repo) == 1
    proc = subprocess.run(
        [str(PRE_COMMIT), "run", "witgen-fmt", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
