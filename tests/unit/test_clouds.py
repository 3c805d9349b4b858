"""The client factory's choice of cloud: sovereign clouds by name, custom ARM endpoints from their metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdeploy_tui.azure.clouds import endpoints_from_metadata, sovereign_cloud
from rdeploy_tui.azure.connection import check_options, connect
from rdeploy_tui.connection_options import ConnectionOptions
from rdeploy_tui.errors import RdeployError

SOVEREIGN = {
    "AzureCloud": ("https://management.azure.com", "https://login.microsoftonline.com"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
}


@pytest.fixture
def service_principal_env(monkeypatch, tmp_path):
    """Only the environment credential: a service principal's variables, no az CLI, no managed identity."""
    monkeypatch.setenv("AZURE_TENANT_ID", "72f988bf-0000-4000-8000-00000000a11e")
    monkeypatch.setenv("AZURE_CLIENT_ID", "0c1d5a7e-5a4d-4f3e-8b1c-5a4db0c5e7a1")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-used-offline")
    for var in (
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
        "AZURE_AUTHORITY_HOST",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no az
    monkeypatch.setenv("RDEPLOY_HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("name", list(SOVEREIGN))
def test_each_sovereign_cloud_maps_to_its_arm_and_authority(name, service_principal_env):
    arm, authority = SOVEREIGN[name]
    cloud = sovereign_cloud(name)
    assert (cloud.name, cloud.arm, cloud.authority, cloud.audience) == (name, arm, authority, arm)
    with connect(ConnectionOptions(cloud=name)) as session:  # offline: connect() does not sign in yet
        assert session.arm_endpoint == arm and session.cloud_name == name and session.cloud_metadata is None
        assert session.authority == authority and session.scopes == [arm + "/.default"]
        kwargs = session.mgmt_kwargs()
        assert kwargs["base_url"] == arm and kwargs["credential_scopes"] == [arm + "/.default"]
        signs_in_at = session.credential._credential._authority  # EnvironmentCredential -> ClientSecretCredential
        assert signs_in_at == authority
        assert session.credential._credential._instance_discovery is None  # well-known hosts: MSAL's default


def test_cloud_aliases_and_case():
    assert sovereign_cloud("china").name == "AzureChinaCloud"
    assert sovereign_cloud("usgov").name == "AzureUSGovernment"
    assert sovereign_cloud("azurecloud").name == "AzureCloud"
    assert sovereign_cloud(None).name == "AzureCloud"


def test_unknown_cloud_is_a_usage_error_listing_the_valid_names(capsys, service_principal_env):
    with pytest.raises(RdeployError) as caught:
        sovereign_cloud("AzureGermanCloud")
    assert caught.value.code == "Usage"
    from rdeploy_tui.cli import main

    assert main(["--cloud", "Mars", "endpoints", "list", "--subscription", "s", "-g", "rg", "-w", "ws"]) == 2
    err = capsys.readouterr().err
    assert "Mars" in err
    for name in SOVEREIGN:
        assert name in err


def test_custom_authority_turns_off_instance_discovery(service_principal_env):
    from rdeploy_tui.azure.credentials import build_credential

    credential, source = build_credential("https://adfs.local.azurestack.external", ca_bundle=None)
    assert source == "environment"
    assert credential._credential._authority == "https://adfs.local.azurestack.external"
    assert credential._credential._instance_discovery is False  # MSAL would ask login.microsoftonline.com otherwise


# What real ARM endpoints answer at /metadata/endpoints (shapes from azure-cli, msrestazure and Azure Stack Hub docs).
PUBLIC_2022 = {
    "name": "AzureCloud",
    "portal": "https://portal.azure.com",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "resourceManager": "https://management.azure.com/",
    "suffixes": {"storage": "core.windows.net", "acrLoginServer": "azurecr.io"},
}
STACK_ENTRA = {
    "galleryEndpoint": "https://providers.local.azurestack.external:30016/",
    "graphEndpoint": "https://graph.windows.net/",
    "portalEndpoint": "https://portal.local.azurestack.external/",
    "authentication": {
        "loginEndpoint": "https://login.windows.net/",
        "audiences": ["https://management.contoso.onmicrosoft.com/3cc6a7b2-1c3d-4a5e-9f00-1234567890ab"],
    },
}
STACK_ADFS = {
    "galleryEndpoint": "https://providers.local.azurestack.external:30016/",
    "graphEndpoint": "https://graph.local.azurestack.external/",
    "portalEndpoint": "https://portal.local.azurestack.external/",
    "authentication": {
        "loginEndpoint": "https://adfs.local.azurestack.external/adfs/",
        "audiences": ["https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"],
    },
}


def test_public_metadata_keeps_the_arm_url_as_audience():
    cloud = endpoints_from_metadata("https://management.azure.com/", PUBLIC_2022)
    assert (cloud.arm, cloud.authority, cloud.audience, cloud.storage_suffix) == (
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "https://management.azure.com",
        "core.windows.net",
    )
    # 2019-05-01 answers a list of clouds: pick this ARM's entry
    other = {**PUBLIC_2022, "name": "AzureChinaCloud", "resourceManager": "https://management.chinacloudapi.cn/"}
    assert endpoints_from_metadata("https://management.azure.com", [other, PUBLIC_2022]).name == "AzureCloud"


def test_azure_stack_with_entra_uses_its_audience():
    cloud = endpoints_from_metadata("https://management.local.azurestack.external", STACK_ENTRA)
    assert cloud.authority == "https://login.windows.net"
    assert cloud.audience == "https://management.contoso.onmicrosoft.com/3cc6a7b2-1c3d-4a5e-9f00-1234567890ab"
    assert cloud.portal == "https://portal.local.azurestack.external/" and cloud.tenant is None


def test_azure_stack_with_adfs_signs_in_at_the_adfs_host():
    cloud = endpoints_from_metadata("https://management.local.azurestack.external", STACK_ADFS)
    assert (cloud.authority, cloud.tenant) == ("https://adfs.local.azurestack.external", "adfs")
    assert cloud.audience == "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"


def test_no_metadata_falls_back_to_public_entra_and_the_arm_url():
    cloud = endpoints_from_metadata("https://arm.example.test", {})
    assert (cloud.authority, cloud.audience) == ("https://login.microsoftonline.com", "https://arm.example.test")


def test_http_arm_endpoint_is_refused_before_any_request():
    with pytest.raises(RdeployError) as caught:
        check_options(ConnectionOptions(arm_endpoint="http://127.0.0.1:1"))
    assert caught.value.code == "Usage" and "https://" in caught.value.what


def test_entra_errors_are_explained():
    from azure.core.exceptions import ClientAuthenticationError

    from rdeploy_tui.azure.errors import explain

    text = (
        "Authentication failed: AADSTS7000215: Invalid client secret provided. "
        "Ensure the secret being sent in the request is the client secret value, not the client secret ID, "
        "for a secret added to app 'x'. Trace ID: 1 Correlation ID: 2 Timestamp: 3"
    )
    error = explain(ClientAuthenticationError(message=text), "signing in")
    assert error.code == "AADSTS7000215" and "client secret" in error.what and "AZURE_CLIENT_SECRET" in error.next_step
    assert "Trace ID" not in (error.details or "")
    error = explain(ValueError("OIDC Discovery failed ... AADSTS90002: Tenant 'x' not found."), "signing in")
    assert error.code == "AADSTS90002" and "AZURE_TENANT_ID" in error.next_step


def test_adfs_needs_the_adfs_tenant(service_principal_env, monkeypatch):
    from rdeploy_tui.azure import connection

    monkeypatch.setattr(connection, "arm_metadata", lambda arm, ca, given=None: STACK_ADFS)
    with pytest.raises(RdeployError) as caught:
        connect(ConnectionOptions(arm_endpoint="https://management.local.azurestack.external"))
    assert caught.value.code == "Usage" and "AZURE_TENANT_ID=adfs" in caught.value.next_step
    monkeypatch.setenv("AZURE_TENANT_ID", "adfs")
    with connect(ConnectionOptions(arm_endpoint="https://management.local.azurestack.external")) as session:
        assert session.authority == "https://adfs.local.azurestack.external"
        assert session.scopes == [
            "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155/.default"
        ]
        assert session.credential._credential._instance_discovery is False


def test_a_private_ca_is_added_to_the_users_own_bundle_not_in_place_of_it(rdeploy_home, monkeypatch, tmp_path):
    """--ca-bundle / --sandbox set REQUESTS_CA_BUNDLE process-wide: a proxy CA the user trusts there must stay."""
    import certifi
    import trustme

    from rdeploy_tui.azure.ca_bundle import combined_ca_bundle

    proxy, private = trustme.CA(organization_name="corporate proxy"), trustme.CA(organization_name="azure stack")
    users = tmp_path / "users-bundle.pem"
    users.write_bytes(proxy.cert_pem.bytes())
    extra = tmp_path / "private.pem"
    extra.write_bytes(private.cert_pem.bytes())

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(users))
    combined = combined_ca_bundle(str(extra))
    text = Path(combined).read_bytes()
    assert proxy.cert_pem.bytes().strip() in text and private.cert_pem.bytes().strip() in text
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", combined)
    assert combined_ca_bundle(str(extra)) == combined  # connecting again does not nest bundles

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    public = Path(combined_ca_bundle(str(extra))).read_bytes()
    assert public.startswith(Path(certifi.where()).read_bytes()) and private.cert_pem.bytes().strip() in public
    assert proxy.cert_pem.bytes().strip() not in public
