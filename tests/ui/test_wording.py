"""Core text in the wizard's words: a spec path becomes the field and its step; Azure's own words stay as they are."""

from __future__ import annotations

from rdeploy_tui.ui.wording import in_wizard_terms


def test_a_spec_path_is_said_as_the_field_and_its_step():
    assert in_wizard_terms("Fix the names in image.r_packages.") == "Fix the names in the R packages (Packages step)."
    assert in_wizard_terms("Set workspace.name in rdeploy.yaml") == "Set the workspace (Workspace step)"
    assert in_wizard_terms("workspace.subscription_id is empty") == "the subscription (Sign-in step) is empty"


def test_azure_text_that_says_workspace_is_left_as_it_is():
    """A 403 names the action it refused: the word workspace (and .../workspaces/...) is Azure's, not a spec path."""
    text = (
        "You do not have permission to perform Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write "
        "on the workspace ws-ml."
    )
    assert in_wizard_terms(text) == text
