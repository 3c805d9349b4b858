"""A simulated Azure ML compute instance: its managed-identity token endpoint and the variables its terminal has.

    GET /MSI/auth?api-version=2017-09-01&resource=RESOURCE[&clientid=ID]   header `secret: MSI_SECRET`
        -> {"access_token", "expires_on": <epoch seconds, an integer>, "resource", "token_type": "Bearer"}

The protocol is what azure-identity (`_credentials/azure_ml.py`, AzureMLCredential: MSI_ENDPOINT + MSI_SECRET, the
2017-09-01 api-version, `resource=`, header `secret`) and msal (`managed_identity._obtain_token_on_machine_learning`)
send and read; both say Microsoft does not document it ("Could not find protocol docs", msal), so the error bodies
below are the sandbox's own (unknown in Azure): 401 for a wrong or missing secret, 400 for a resource the sandbox
does not issue tokens for, and, under the fault `no-identity` (a compute instance created without a managed
identity), 400 "Identity not found" as Azure's instance metadata service words it for a VM without one
(learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling).

The token is the sandbox's own ARM token, for the compute instance's system-assigned identity.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from rdeploy_tui.sandbox.arm import TENANT_ID
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response

MSI_PATH = "/MSI/auth"  # the path a compute instance's MSI_ENDPOINT has (http://127.0.0.1:46808/MSI/auth there)
COMPUTE_NAME = "rdeploy-ci"
IDENTITY_CLIENT_ID = "3f1c9a2e-6b7d-4c8e-9f10-00000000c1c1"
IDENTITY_OBJECT_ID = "3f1c9a2e-6b7d-4c8e-9f10-00000000c10b"
TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True)
class ComputeInstance:
    """What a compute instance terminal has in its environment, for this sandbox."""

    msi_endpoint: str
    msi_secret: str
    name: str
    subscription_id: str
    resource_group: str
    workspace: str

    def environment(self) -> dict[str, str]:
        # MSI_ENDPOINT/MSI_SECRET are what azure-identity and msal read; CI_* are the compute instance's own
        # variables (rdeploy_tui.azure.discovery reads CI_WORKSPACE, CI_RESOURCE_GROUP, CI_SUBSCRIPTION_ID).
        return {
            "MSI_ENDPOINT": self.msi_endpoint,
            "MSI_SECRET": self.msi_secret,
            "CI_NAME": self.name,
            "CI_SUBSCRIPTION_ID": self.subscription_id,
            "CI_RESOURCE_GROUP": self.resource_group,
            "CI_WORKSPACE": self.workspace,
        }


def compute_instance(sandbox: Any) -> ComputeInstance:
    secret = sandbox.signer.mac("compute-instance-msi-secret", COMPUTE_NAME)[:32]
    return ComputeInstance(
        f"{sandbox.base_url}{MSI_PATH}",
        secret,
        COMPUTE_NAME,
        sandbox.subscription_id,
        sandbox.resource_group,
        sandbox.workspace_name,
    )


def register(router: Router, sandbox: Any) -> None:
    from rdeploy_tui.sandbox import login

    @router.route("GET", MSI_PATH)
    def token(request: Request) -> Response:
        ci = compute_instance(sandbox)
        given = request.headers.get("secret") or ""
        if not hmac.compare_digest(given.encode(), ci.msi_secret.encode()):
            return json_response(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "The secret header is missing or does not match MSI_SECRET.",
                },
            )
        slow = sandbox.faults.take("slow-identity", f"GET {request.path}")
        if slow is not None:  # a token endpoint that takes its time (seconds, real ones): clients must not hang on it
            deadline = time.monotonic() + float(slow.params.get("seconds", 10))
            while time.monotonic() < deadline and not sandbox.stopping:
                time.sleep(0.05)
        if sandbox.faults.take("no-identity", f"GET {request.path}") is not None:
            return json_response(400, {"error": "invalid_request", "error_description": "Identity not found"})
        resource = request.param("resource") or ""
        if not login.audience_allowed(sandbox, resource):
            return json_response(
                400,
                {
                    "error": "invalid_resource",
                    "error_description": (
                        f"The resource {resource!r} is not one the sandbox issues tokens for: use {sandbox.base_url}/."
                    ),
                },
            )
        access_token, expires_on = sandbox.signer.issue(
            "arm",
            TOKEN_LIFETIME_S,
            aud=resource,
            tid=TENANT_ID,
            appid=IDENTITY_CLIENT_ID,
            oid=IDENTITY_OBJECT_ID,
            sub=IDENTITY_OBJECT_ID,
            idtyp="app",
            xms_mirid=f"/subscriptions/{ci.subscription_id}/resourcegroups/"
            f"{ci.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{ci.workspace}/computes/{ci.name}",
        )
        return json_response(
            200,
            {
                "access_token": access_token,
                "expires_on": expires_on,
                "resource": resource,
                "token_type": "Bearer",
                "client_id": IDENTITY_CLIENT_ID,
            },
        )
