"""The deploy pipeline: spec -> render -> plan -> runner -> events, with no Textual and no deploy logic elsewhere.

plan.py    which steps, in which order (build image ∥ create endpoint -> deployment -> traffic, smoke score)
runner.py  runs the plan against the Azure layer: resumable, cancellable, one event stream
events.py  what a running plan reports; the wizard, the CLI and the log file consume the same events
state.py   progress on disk per target, so an interrupted deploy resumes where it stopped
"""
