"""Where Azure is, as given on the command line. Kept apart from rdeploy_tui.azure so the wizard can
hold it before its first paint without importing the Azure layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConnectionOptions:
    """How to reach Azure. All empty: public Azure with the usual sign-in."""

    sandbox: bool = False
    cloud: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> ConnectionOptions:
        """From the options cli.add_connection_options adds."""
        return cls(
            sandbox=bool(getattr(args, "sandbox", False)),
            cloud=getattr(args, "cloud", None),
            arm_endpoint=getattr(args, "arm_endpoint", None),
            ca_bundle=getattr(args, "ca_bundle", None),
        )
