"""What ARM itself answers before any resource provider sees a request: api-version checks, unknown paths.

    check_api_version(request)   raises AzureError: MissingApiVersionParameter / InvalidApiVersionParameter /
                                 NoRegisteredProviderFound, as ARM words them
    unmatched(request)           the 404 ARM sends for a path no sandbox service answers (never another service's body)

Public sources for the wording (ARM's own error bodies, quoted in public issues):
- MissingApiVersionParameter: "The api-version query parameter (?api-version=) is required for all requests."
  (MicrosoftDocs/feedback#2279 shows management.azure.com's body; cloudquery/cloudquery#6626 the 400 status).
- InvalidApiVersionParameter, for ARM's own types (subscriptions, resourceGroups, resources): "The api-version
  '2021-03-01' is invalid. The supported versions are '2024-08-01,...'." (ansible-collections/azure#1739,
  Azure/azure-cli#28038).
- NoRegisteredProviderFound, for a provider's type: "No registered resource provider found for location 'eastus' and
  API version '2019-05-01' for type 'workspaces'. The supported api-versions are '...'. The supported locations are
  '...'." (Azure/azure-sdk-for-js#4097, microsoft/vscode-tools-for-ai#940 for workspaces/models).
- InvalidResourceType: "The resource type 'operations' could not be found in the namespace 'Microsoft.Resources' for api
  version '2021-01-01'." (Azure/azure-rest-api-specs#14807), 404.
"""

from __future__ import annotations

import re
from typing import Any

from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.http import Request

RESOURCES_NAMESPACE = "Microsoft.Resources"
LOCATION = "westeurope"  # the sandbox's one region (arm.DEFAULT_LOCATION)

# ARM's own api-versions as its InvalidApiVersionParameter message listed them in 2024 (ansible-collections/azure#1739),
# plus the later ones azure-mgmt-resource 2025 ships (generated from the Microsoft.Resources REST spec). A version
# newer than the newest here is accepted: Azure adds versions, and the sandbox cannot know which.
RESOURCES_VERSIONS = [
    "2025-04-01",
    "2025-03-01",
    "2024-11-01",
    "2024-08-01",
    "2024-07-01",
    "2024-06-01-preview",
    "2024-03-01",
    "2023-07-01",
    "2023-07-01-preview",
    "2023-03-01-preview",
    "2022-12-01",
    "2022-11-01-preview",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-03-01-preview",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
    "2013-03-01",
    "2014-02-26",
    "2014-04",
]

# For providers' types the sandbox knows the first api-version each type was registered with, not every version
# published since: older ones (and malformed ones) are refused as ARM refuses them; a version between the first and
# today that Azure never published is accepted (a known gap, docs/sandbox-fidelity.md).
#   workspaces: '2018-03-01-preview, 2018-11-19' were its only versions in 2019 (Azure/azure-sdk-for-js#4097);
#   workspaces/models, codes and environments: '2020-09-01-preview, 2021-03-01-preview' in 2021 for models
#   (microsoft/vscode-tools-for-ai#940); registries from 2016-06-27-preview and ACR Tasks runs from
#   2018-09-01, the first Microsoft.ContainerRegistry REST spec folders holding them (Azure/azure-rest-api-specs).
# Types whose published api-versions are known in full: a version not in the list and not newer than its newest is
# refused. Online endpoints and deployments: the "Other available API versions" Pulumi's azure-native (generated from
# the Azure REST API specs) lists for machinelearningservices OnlineDeployment, plus the 2025-09-01 it uses
# (https://www.pulumi.com/registry/packages/azure-native/api-docs/machinelearningservices/onlinedeployment).
PUBLISHED_VERSIONS = {
    "microsoft.machinelearningservices/workspaces/onlineendpoints": [
        "2021-03-01-preview",
        "2022-02-01-preview",
        "2022-05-01",
        "2022-06-01-preview",
        "2022-10-01",
        "2022-10-01-preview",
        "2022-12-01-preview",
        "2023-02-01-preview",
        "2023-04-01",
        "2023-04-01-preview",
        "2023-06-01-preview",
        "2023-08-01-preview",
        "2023-10-01",
        "2024-01-01-preview",
        "2024-04-01",
        "2024-07-01-preview",
        "2024-10-01",
        "2024-10-01-preview",
        "2025-01-01-preview",
        "2025-04-01",
        "2025-04-01-preview",
        "2025-06-01",
        "2025-07-01-preview",
        "2025-09-01",
        "2025-10-01-preview",
    ],
}
FIRST_VERSIONS = {
    "microsoft.machinelearningservices/workspaces": "2018-03-01-preview",
    "microsoft.machinelearningservices/workspaces/models": "2020-09-01-preview",
    "microsoft.machinelearningservices/workspaces/codes": "2020-09-01-preview",
    "microsoft.machinelearningservices/workspaces/environments": "2020-09-01-preview",
    "microsoft.containerregistry/registries": "2016-06-27-preview",
    "microsoft.containerregistry/registries/runs": "2018-09-01",
}
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|alpha|beta))?$", re.IGNORECASE)


def missing_error() -> AzureError:
    return AzureError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def invalid_error(version: str, supported: list[str]) -> AzureError:
    return AzureError(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{version}' is invalid. The supported versions are '{','.join(supported)}'.",
    )


def resource_type(path: str) -> tuple[str, str]:
    """(namespace, type) of an ARM path: `.../providers/NS/t1/n1/t2` -> (NS, "t1/t2"); no provider ->
    Microsoft.Resources."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        if at + 1 < len(parts):
            return parts[at + 1], "/".join(parts[at + 2 :: 2])
    # /subscriptions/{s}/resourceGroups/{rg}/resources -> subscriptions/resourceGroups/resources
    return RESOURCES_NAMESPACE, "/".join(parts[0::2])


def check_api_version(request: Request) -> None:
    """Raise ARM's 400 when the api-version is missing or one ARM or the provider would not accept."""
    version = request.api_version
    if not version:
        raise missing_error()
    namespace, type_path = resource_type(request.path)
    if namespace.lower() == RESOURCES_NAMESPACE.lower():
        # Only published versions: ARM refuses a well-formed one it never published (issue 24 measured a 400 there).
        if version not in RESOURCES_VERSIONS:
            raise invalid_error(version, RESOURCES_VERSIONS)
        return
    full_type = f"{namespace}/{type_path}".lower()
    published = _lookup(PUBLISHED_VERSIONS, full_type)
    first = _lookup(FIRST_VERSIONS, full_type)
    if published is not None:
        refused = version not in published and not (_VERSION_RE.match(version) and version > max(published))
        supported = ", ".join(published)
    else:
        refused = not _VERSION_RE.match(version) or (first is not None and version < first)
        supported = f"{first} and later" if first else "unknown to the sandbox"
    if refused:
        top = type_path.split("/")
        shown = "/".join(top[:2]) if len(top) > 1 else top[0]
        raise AzureError(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location '{LOCATION}' and API version '{version}' for type "
            f"'{shown}'. The supported api-versions are '{supported}'. The supported locations are '{LOCATION}'.",
        )


def check_media_type(request: Request) -> None:
    """ARM reads JSON bodies only: a body sent as another media type, or without a Content-Type, is refused with
    415 UnsupportedMediaType, "The content media type '<null>' is not supported. Only 'application/json' is
    supported." (ARM's body quoted in Azure/azure-cli#10143 and #13056, `az rest` without a Content-Type)."""
    if not request.body:
        return
    media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise AzureError(
            415,
            "UnsupportedMediaType",
            f"The content media type '{media or '<null>'}' is not supported. Only 'application/json' is supported.",
        )


def _lookup(table: dict[str, Any], full_type: str) -> Any | None:
    """The entry for the longest known type the path is (or is under)."""
    while full_type:
        if full_type in table:
            return table[full_type]
        if "/" not in full_type:
            return None
        full_type = full_type.rsplit("/", 1)[0]
    return None


def unmatched(request: Request) -> AzureError:
    """ARM's 404 for a path no sandbox service answers: the type is unknown in its namespace."""
    namespace, type_path = resource_type(request.path)
    return AzureError(
        404,
        "InvalidResourceType",
        f"The resource type '{type_path or namespace}' could not be found in the namespace '{namespace}' "
        f"for api version '{request.api_version or ''}'.",
    )
