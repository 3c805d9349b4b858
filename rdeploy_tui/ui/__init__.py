"""The Textual wizard: a view over the spec, the pipeline and its events (no deploy logic here).

`app.py` the app and its moves between steps; `flow.py` the flows (the only place the steps' order, names and
titles live); `wizard_state.py` what the wizard knows while it runs (typed, reactive where the view follows it);
`pipeline_events.py` a run's events as one Textual message; `screens/` one per step plus the endpoints list and its
dialogs; `widgets/` the pieces they share; `keys.py`, `palette.py` keys, the user's keymap and the command palette;
`exit_summary.py` what the terminal keeps once the app has closed; `wording.py` the core's spec paths (image.r_packages)
in the wizard's words; `worker_errors.py` a failed worker as a dialog, never a traceback.

Nothing in this package may import Azure SDKs at module level: the first screen must paint before azure.ai.ml
(~1.5 s) is imported. Azure calls run inside thread workers (through rdeploy_tui.azure), which report back with
messages; no worker touches a widget.
"""
