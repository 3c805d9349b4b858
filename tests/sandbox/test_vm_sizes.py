"""VM sizes: the sandbox takes every size of Microsoft's managed online endpoint SKU list and refuses others,
through the real azure-ai-ml client (the same table `validate` reads: rdeploy_tui/spec/vm_sizes.py)."""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from sandbox_helpers import create_endpoint, make_deployment, unique_name


def test_a_size_outside_the_sku_list_is_refused(sandbox, ml_client, app_files, code_dir):
    name = unique_name("badsize")
    create_endpoint(ml_client, name)
    with pytest.raises(HttpResponseError) as info:
        ml_client.online_deployments.begin_create_or_update(
            make_deployment("blue", name, app_files.image, code_dir, instance_type="Standard_B2s"), skip_script_validation=True
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
        make_deployment("blue", name, app_files.image, code_dir, instance_type="Standard_E4s_v3"), skip_script_validation=True
    ).result()
    assert deployment.provisioning_state == "Succeeded" and deployment.instance_type == "Standard_E4s_v3"
    ml_client.online_endpoints.begin_delete(name).result()
