"""The VM sizes managed online endpoints accept: one table, read by `validate` (spec/rules.py) and the sandbox.

Source of the names, cores and GPUs: Microsoft's "Managed online endpoints SKU list",
https://learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list
(MicrosoftDocs/azure-ai-docs articles/machine-learning/reference-managed-online-endpoints-vm-sku-list.md, ms.date
2023-10-18, read 2026-11-26). That page gives no memory; the memory column is from each series' page under
https://learn.microsoft.com/azure/virtual-machines/sizes (GiB). "skip_reservation" is the page's "Skip 20% Reservation"
column: those sizes are exempt from the 20 % extra quota Azure ML holds for upgrades.

Azure adds sizes over time, so a size missing here is a warning in `validate` (not an error); the sandbox refuses it,
since it can only host what it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE_URL = "https://learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list"


@dataclass(frozen=True)
class VmSize:
    name: str  # as Azure spells it in a deployment (Standard_DS3_v2)
    family: str  # the quota family of the SKU list
    vcpus: int
    memory_gib: float
    gpus: str  # "0", "1", or a fraction of a GPU for the NVadsA10v5 sizes ("1/6")
    skip_reservation: bool = False

    @property
    def label(self) -> str:
        gpu = "" if self.gpus == "0" else f", {self.gpus} GPU"
        return f"{self.name} ({self.vcpus} vCPU, {self.memory_gib:g} GiB{gpu})"

    @property
    def has_gpu(self) -> bool:
        return self.gpus != "0"


# name | family | vCPUs | memory GiB | GPUs | skip 20% reservation  -- in the order of Microsoft's page
_TABLE = """
Standard_D2as_v4 standardDASv4Family 2 8 0
Standard_D4as_v4 standardDASv4Family 4 16 0
Standard_D8as_v4 standardDASv4Family 8 32 0
Standard_D16as_v4 standardDASv4Family 16 64 0
Standard_D32as_v4 standardDASv4Family 32 128 0
Standard_D48as_v4 standardDASv4Family 48 192 0
Standard_D64as_v4 standardDASv4Family 64 256 0
Standard_D96as_v4 standardDASv4Family 96 384 0
Standard_D2a_v4 standardDAv4Family 2 8 0
Standard_D4a_v4 standardDAv4Family 4 16 0
Standard_D8a_v4 standardDAv4Family 8 32 0
Standard_D16a_v4 standardDAv4Family 16 64 0
Standard_D32a_v4 standardDAv4Family 32 128 0
Standard_D48a_v4 standardDAv4Family 48 192 0
Standard_D64a_v4 standardDAv4Family 64 256 0
Standard_D96a_v4 standardDAv4Family 96 384 0
Standard_DS1_v2 standardDSv2Family 1 3.5 0
Standard_DS2_v2 standardDSv2Family 2 7 0
Standard_DS3_v2 standardDSv2Family 4 14 0
Standard_DS4_v2 standardDSv2Family 8 28 0
Standard_DS5_v2 standardDSv2Family 16 56 0
Standard_E2s_v3 standardESv3Family 2 16 0
Standard_E4s_v3 standardESv3Family 4 32 0
Standard_E8s_v3 standardESv3Family 8 64 0
Standard_E16s_v3 standardESv3Family 16 128 0
Standard_E32s_v3 standardESv3Family 32 256 0
Standard_E48s_v3 standardESv3Family 48 384 0
Standard_E64s_v3 standardESv3Family 64 432 0
Standard_F2s_v2 standardFSv2Family 2 4 0
Standard_F4s_v2 standardFSv2Family 4 8 0
Standard_F8s_v2 standardFSv2Family 8 16 0
Standard_F16s_v2 standardFSv2Family 16 32 0
Standard_F32s_v2 standardFSv2Family 32 64 0
Standard_F48s_v2 standardFSv2Family 48 96 0
Standard_F64s_v2 standardFSv2Family 64 128 0
Standard_F72s_v2 standardFSv2Family 72 144 0
Standard_FX4mds standardFXMDVSFamily 4 84 0
Standard_FX12mds standardFXMDVSFamily 12 252 0
Standard_FX24mds standardFXMDVSFamily 24 504 0
Standard_FX36mds standardFXMDVSFamily 36 756 0
Standard_FX48mds standardFXMDVSFamily 48 1008 0
Standard_L8as_v3 standardLASv3Family 8 64 0
Standard_L16as_v3 standardLASv3Family 16 128 0
Standard_L32as_v3 standardLASv3Family 32 256 0
Standard_L48as_v3 standardLASv3Family 48 384 0
Standard_L64as_v3 standardLASv3Family 64 512 0
Standard_L80as_v3 standardLASv3Family 80 640 0
Standard_L8s_v2 standardLSv2Family 8 64 0
Standard_L16s_v2 standardLSv2Family 16 128 0
Standard_L32s_v2 standardLSv2Family 32 256 0
Standard_L48s_v2 standardLSv2Family 48 384 0
Standard_L64s_v2 standardLSv2Family 64 512 0
Standard_L80s_v2 standardLSv2Family 80 640 0
Standard_L8s_v3 standardLSv3Family 8 64 0
Standard_L16s_v3 standardLSv3Family 16 128 0
Standard_L32s_v3 standardLSv3Family 32 256 0
Standard_L48s_v3 standardLSv3Family 48 384 0
Standard_L64s_v3 standardLSv3Family 64 512 0
Standard_L80s_v3 standardLSv3Family 80 640 0
Standard_NC24ads_A100_v4 standardNCADSA100v4Family 24 220 1 skip
Standard_NC48ads_A100_v4 standardNCADSA100v4Family 48 440 2 skip
Standard_NC96ads_A100_v4 standardNCADSA100v4Family 96 880 4 skip
Standard_NC4as_T4_v3 standardNCASv3_T4Family 4 28 1
Standard_NC8as_T4_v3 standardNCASv3_T4Family 8 56 1
Standard_NC16as_T4_v3 standardNCASv3_T4Family 16 110 1
Standard_NC64as_T4_v3 standardNCASv3_T4Family 64 440 4
Standard_NC6s_v2 standardNCSv2Family 6 112 1
Standard_NC12s_v2 standardNCSv2Family 12 224 2
Standard_NC24s_v2 standardNCSv2Family 24 448 4
Standard_NC6s_v3 standardNCSv3Family 6 112 1
Standard_NC12s_v3 standardNCSv3Family 12 224 2
Standard_NC24s_v3 standardNCSv3Family 24 448 4
Standard_NC40ads_H100_v5 standardNCADSH100v5Family 40 320 1 skip
Standard_NC80adis_H100_v5 standardNCADSH100v5Family 80 640 2 skip
Standard_ND96amsr_A100_v4 standardNDAMSv4_A100Family 96 1900 8 skip
Standard_ND96asr_v4 standardNDASv4_A100Family 96 900 8 skip
Standard_ND40rs_v2 standardNDSv2Family 40 672 8 skip
Standard_ND96is_H100_v5 standardNDv5H100Family 96 1900 8 skip
Standard_ND96isr_H100_v5 standardNDv5H100Family 96 1900 8 skip
Standard_NV6ads_A10_v5 standardNVADSA10v5Family 6 55 1/6
Standard_NV12ads_A10_v5 standardNVADSA10v5Family 12 110 1/3
Standard_NV18ads_A10_v5 standardNVADSA10v5Family 18 220 1/2
Standard_NV36ads_A10_v5 standardNVADSA10v5Family 36 440 1
Standard_NV36adms_A10_v5 standardNVADSA10v5Family 36 880 1
Standard_NV72ads_A10_v5 standardNVADSA10v5Family 72 880 2
"""


def _parse(table: str) -> dict[str, VmSize]:
    sizes: dict[str, VmSize] = {}
    for line in table.strip().splitlines():
        name, family, vcpus, memory, gpus, *rest = line.split()
        sizes[name.lower()] = VmSize(name, family, int(vcpus), float(memory), gpus, rest == ["skip"])
    return sizes


VM_SIZES: dict[str, VmSize] = _parse(_TABLE)  # lower-case name -> size; Azure matches names case-insensitively


def lookup(name: str) -> VmSize | None:
    return VM_SIZES.get(name.lower()) if isinstance(name, str) else None


def close_matches(name: str, limit: int = 4) -> list[str]:
    import difflib

    found = difflib.get_close_matches(name.lower(), list(VM_SIZES), n=limit, cutoff=0.75)
    return [VM_SIZES[key].name for key in found]


def usage_name(family: str) -> str:
    """The name Azure ML's quota usages give a family ('standardDSv2Family' -> 'Standard DSv2 Family Cluster Dedicated
    vCPUs'), as the REST spec's Usages example lists them (machinelearningservices 2024-10-01 Usage/list.json)."""
    return f"Standard {family.removeprefix('standard').removesuffix('Family')} Family Cluster Dedicated vCPUs"
