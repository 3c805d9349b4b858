"""What deleting stopped, said with the grammar of how many were deleted."""

from __future__ import annotations

from rdeploy_tui.billing import deleted_sentence


def test_one_endpoint_deleted_no_longer_bills_and_several_no_longer_bill():
    assert deleted_sentence(["ep-a"]) == "Deleted ep-a; it no longer bills."
    assert deleted_sentence(["ep-a", "ep-b"]) == "Deleted ep-a, ep-b; they no longer bill."
