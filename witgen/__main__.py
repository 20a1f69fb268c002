from witgen.console import run

run()
