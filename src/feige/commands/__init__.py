"""Command-line subcommands, one module each; ``feige.cli`` registers them."""
