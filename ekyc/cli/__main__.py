from ekyc.cli import main

main()
