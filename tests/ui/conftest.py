"""UI tests run with their own state folder: no test reads or writes the real last-run spec."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_state_folder(rdeploy_home):
    """No test reads or writes the real last-run spec or deploy state."""
    return rdeploy_home
