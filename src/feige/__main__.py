from feige.cli import main

main()
