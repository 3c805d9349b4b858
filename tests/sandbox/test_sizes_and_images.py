"""What a deployment can run on and from, through the real azure-ai-ml client: the VM sizes of Microsoft's managed
online endpoint SKU list (the table `validate` reads too: rdeploy_tui/spec/vm_sizes.py), and an image without
plumber."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from sandbox_helpers import create_endpoint, make_deployment, unique_name


def test_a_size_outside_the_sku_list_is_refused(sandbox, ml_client, app_files, code_dir):
    name = unique_name("badsize")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir, instance_type="Standard_B2s"),
            skip_script_validation=True,
        ).result()
    assert info.value.status_code == 400
    assert "BadArgument" in str(info.value) and "Standard_B2s" in str(info.value)
    assert "reference-managed-online-endpoints-vm-sku-list" in str(info.value)
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.mark.r
def test_a_memory_size_of_the_sku_list_is_accepted(sandbox, ml_client, app_files, code_dir):
    # Standard_E4s_v3 used to pass `validate` and be refused by the sandbox
    name = unique_name("esize")
    create_endpoint(ml_client, name)
    deployment = ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, app_files.image, code_dir, instance_type="Standard_E4s_v3"),
        skip_script_validation=True,
    ).result()
    assert deployment.provisioning_state == "Succeeded" and deployment.instance_type == "Standard_E4s_v3"
    ml_client.online_endpoints.begin_delete(name).result()


def test_an_image_without_plumber_fails_its_probes_and_the_log_says_plumber_is_missing(
    sandbox, ml_client, app_files, code_dir, login_server
):
    # as built by Microsoft's how-to Dockerfile FROM rocker/r-ver, which has no plumber (build.describe_image)
    sandbox.images.record_image(
        login_server,
        "no-plumber",
        "1",
        app_files.docker_context(),
        metadata={"entrypoint_reset": True, "plumber": False},
    )
    name = unique_name("noplumber")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as failed:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, f"{login_server}/no-plumber:1", code_dir), skip_script_validation=True
        ).result()
    assert "ResourceNotReady" in str(failed.value) or "readiness probe" in str(failed.value)
    logs = ml_client.online_deployments.get_logs("blue", name, lines=50)
    assert "there is no package called ‘plumber’" in logs
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.mark.r
def test_a_package_built_without_its_system_library_is_named_in_the_container_log(
    sandbox, ml_client, app_files, code_dir, login_server
):
    # as an unchecked install.packages("sf") on rocker records it (build.py); the API still starts, as in Azure
    reason = (
        "unable to load shared object '/usr/local/lib/R/site-library/sf/libs/sf.so':\n"
        "  libgdal.so.34: cannot open shared object file: No such file or directory"
    )
    sandbox.images.record_image(
        login_server,
        "sf-no-gdal",
        "1",
        app_files.docker_context(),
        metadata={"entrypoint_reset": True, "plumber": True, "r_packages_unloadable": {"sf": reason}},
    )
    name = unique_name("nogdal")
    create_endpoint(ml_client, name)
    ml_client.online_deployments.begin_create_or_update(
        make_deployment("blue", name, f"{login_server}/sf-no-gdal:1", code_dir), skip_script_validation=True
    ).result()
    logs = ml_client.online_deployments.get_logs("blue", name, lines=80)
    assert "rdeploy: R package sf does not load: unable to load shared object" in logs and "libgdal.so.34" in logs
    ml_client.online_endpoints.begin_delete(name).result()
