"""`python -m witgen.frontend.write_table`: rebuild `grammars/wit.table.json` after the grammar
or the parser's builder changed (a test says when it no longer fits)."""

from __future__ import annotations

from witgen.frontend.builder import _Builder
from witgen.frontend.tables import write_shipped

if __name__ == "__main__":
    print(f"wrote {write_shipped(_Builder())}")
