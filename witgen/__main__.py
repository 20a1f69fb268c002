from witgen.cli import main

main()
