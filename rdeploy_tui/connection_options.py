"""Where Azure is, as given on the command line (or by the launch module for the built-in sandbox): the flags
(add_connection_options, for the root parser and every command that talks to Azure) and what they hold
(ConnectionOptions).

Kept apart from rdeploy_tui.azure so the wizard can hold it before its first paint without importing the Azure
layer. The core reads every field but `sandbox`: that one is a request to rdeploy_tui.launch, which starts the
sandbox and hands the core the same fields `--arm-endpoint`/`--ca-bundle` fill (plus the sandbox's service
principal and its prices and package index), so the core never knows it talks to a simulation.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

# Endpoint overrides for a machine behind a mirror or proxy (also flags: --prices-url, --package-index-url).
PRICES_URL_ENV = "RDEPLOY_PRICES_URL"
PACKAGE_INDEX_URL_ENV = "RDEPLOY_PACKAGE_INDEX_URL"


def add_connection_options(parser: argparse.ArgumentParser, *, root: bool = False) -> None:
    """Where Azure is: real Azure (default), a sovereign cloud, any ARM endpoint, or the built-in sandbox.

    Given before or after the command (`rdeploy-tui --sandbox endpoints list` and `... list --sandbox`):
    a command's copies default to SUPPRESS so they never overwrite what the root parser read."""
    import argparse

    unset: dict[str, Any] = {} if root else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("Azure connection")
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="use the built-in Azure sandbox (no account needed; it runs at 1/20 of Azure's durations, "
        "RDEPLOY_SANDBOX_TIME_SCALE=1 for the real pace)",
        **unset,
    )
    group.add_argument(
        "--cloud", metavar="NAME", help="Azure cloud: AzureCloud (default), AzureChinaCloud, AzureUSGovernment", **unset
    )
    group.add_argument(
        "--arm-endpoint", metavar="URL", help="any other Azure Resource Manager endpoint (https)", **unset
    )
    group.add_argument("--ca-bundle", metavar="FILE", help="CA certificates to trust for --arm-endpoint", **unset)
    group.add_argument(
        "--prices-url",
        metavar="URL",
        help="the Azure Retail Prices API, or a mirror of it (env RDEPLOY_PRICES_URL; default Microsoft's)",
        **unset,
    )
    group.add_argument(
        "--package-index-url",
        metavar="URL",
        help="the R repository whose package index a deploy checks names against (env RDEPLOY_PACKAGE_INDEX_URL; "
        "default the one the image installs from)",
        **unset,
    )


@dataclass(frozen=True)
class ServicePrincipal:
    """Sign in as this app registration with a client secret, as `az login --service-principal` does."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class ConnectionOptions:
    """How to reach Azure. All empty: public Azure with the usual sign-in sources (az login, managed identity, ...)."""

    sandbox: bool = False  # asked for the built-in sandbox; rdeploy_tui.launch turns it into the fields below
    cloud: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: str | None = None
    service_principal: ServicePrincipal | None = None  # None: the sign-in sources this machine has
    prices_url: str | None = None  # the Azure Retail Prices API, or a mirror of it
    package_index_url: str | None = None  # the R repository whose index the package names are checked against
    flags: tuple[str, ...] | None = None  # the flags that reach this target again; None: from the fields above

    @classmethod
    def from_args(cls, args: argparse.Namespace | SimpleNamespace) -> ConnectionOptions:
        """From the options add_connection_options adds (and their environment variables)."""
        return cls(
            sandbox=bool(getattr(args, "sandbox", False)),
            cloud=getattr(args, "cloud", None),
            arm_endpoint=getattr(args, "arm_endpoint", None),
            ca_bundle=getattr(args, "ca_bundle", None),
            prices_url=getattr(args, "prices_url", None) or os.environ.get(PRICES_URL_ENV) or None,
            package_index_url=getattr(args, "package_index_url", None) or os.environ.get(PACKAGE_INDEX_URL_ENV) or None,
        )

    def target_flags(self) -> list[str]:
        """The command-line flags that reach the same Azure as these options: `--sandbox`, `--arm-endpoint URL
        --ca-bundle FILE`, `--cloud NAME`, or none for public Azure."""
        if self.flags is not None:
            return list(self.flags)
        if self.sandbox:
            return ["--sandbox"]
        if self.arm_endpoint:
            return ["--arm-endpoint", self.arm_endpoint] + (["--ca-bundle", self.ca_bundle] if self.ca_bundle else [])
        if self.cloud:
            return ["--cloud", self.cloud]
        return []

    def command(self, *words: str) -> str:
        """A next command to print, e.g. command("endpoints", "delete", name) -> `rdeploy-tui endpoints delete NAME
        --sandbox`: copied into a shell it reaches the same Azure (never real Azure after a sandbox run)."""
        return shlex.join(["rdeploy-tui", *words, *self.target_flags()])
