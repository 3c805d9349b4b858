"""CLI subcommands. Each module has `register(subparsers)` that adds its parser with
`set_defaults(run=run)`, and `run(args) -> int` (0 ok, 1 failed, 2 usage)."""
