"""An exception handlers raise to answer with an Azure error body; the server turns it into the response."""

from __future__ import annotations

from rdeploy_tui.sandbox.http import Response, azure_error


class AzureError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}
        self.details = details  # ARM's error.details: [{code, message}], when the service sends them

    def response(self) -> Response:
        return azure_error(self.status, self.code, self.message, self.headers, self.details)


def not_found(resource_type: str, name: str, resource_group: str) -> AzureError:
    return AzureError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )
