from witgen.cli import run

run()
