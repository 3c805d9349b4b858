"""Azure ML's quota usages, `GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{loc}/usages`:
the vCPUs each VM family's deployments hold against the subscription's quota, as the REST spec's example lists them
(machinelearningservices 2024-10-01 examples/Usage/list.json: type .../vmFamily/usages, name "Standard DSv2 Family
Cluster Dedicated vCPUs", and the regional total "Total Cluster Dedicated Regional vCPUs").

The sandbox has one core quota for the whole subscription (`--quota-cores`, 32 by default), so every family's limit is
that quota; Azure's are per family (and also hold compute clusters, which the sandbox has none of)."""

from __future__ import annotations

from typing import Any

from rdeploy_tui.sandbox.arm import SUB
from rdeploy_tui.sandbox.http import Request, Response, Router, json_response
from rdeploy_tui.spec.vm_sizes import VM_SIZES, usage_name


def register(router: Router, sandbox: Any) -> None:
    @router.route("GET", SUB + r"/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/usages")
    def usages(request: Request, sub: str, loc: str) -> Response:
        used: dict[str, int] = {}
        with sandbox.state.view() as data:
            for key, dep in data.get("deployments", {}).items():
                size = VM_SIZES.get(str(dep["instance_type"]).lower())
                if key.split("/")[2] == sub.lower() and dep["state"] != "Failed" and size is not None:
                    used[size.family] = used.get(size.family, 0) + size.vcpus * int(dep["instance_count"])
        head = f"/subscriptions/{sub}/usages"
        value = [
            {
                "id": head,
                "type": "Microsoft.MachineLearningServices/dedicatedCores/usages",
                "currentValue": sum(used.values()),
                "limit": sandbox.quota_cores,
                "name": {
                    "value": "Total Cluster Dedicated Regional vCPUs",
                    "localizedValue": "Total Cluster Dedicated Regional vCPUs",
                },
                "unit": "Count",
            }
        ]
        for family in sorted({s.family for s in VM_SIZES.values()}):
            label = usage_name(family)
            value.append(
                {
                    "id": f"{head}/{label.replace(' ', '_')}",
                    "type": "Microsoft.MachineLearningServices/vmFamily/usages",
                    "currentValue": used.get(family, 0),
                    "limit": sandbox.quota_cores,
                    "name": {"value": label, "localizedValue": label},
                    "unit": "Count",
                }
            )
        return json_response(200, {"value": value})
