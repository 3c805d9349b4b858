"""One module per wizard step, plus the scoring screen the wizard ends on."""
