"""CLI subcommands. Each module has `register(subparsers)` that adds its parser with
`set_defaults(run=run)`, and `run(args) -> int` (0 ok, 1 failed, 2 usage); cli.py lists them in COMMANDS.

init_cmd.py, validate_cmd.py, local_cmd.py, deploy_cmd.py, rollout_cmd.py, models_cmd.py, sandbox_cmd.py: one command
each; endpoints_cmd.py `endpoints ...` (+ endpoint_costs.py what each bills and `sweep`, endpoints_monitor.py
`metrics` and `autoscale`); ui_cmd.py no command: the wizard (the only module that imports ui/). Shared: azure_args.py
(connecting through rdeploy_tui.launch, choosing the workspace, confirming), spec_args.py (reading --spec).
"""
