"""Machine types and boot disks as Vertex AI documents them for training, and its defaults.

Written from Google's documentation (Vertex AI, "Configure compute resources for custom
training" and the `DiskSpec` / `MachineSpec` reference), not from prgcloud's pre-check: the
emulator is the service the pre-check is tested against, so it must be able to disagree.
`prgcloud.precheck.rules` keeps its own copy of the defaults; a test compares the two.

- A machine type is `FAMILY-KIND-N` (`n1-standard-4`, `a2-highgpu-1g`, `ct5lp-hightpu-4t`) of a
  family Vertex AI offers for training, or `cloud-tpu` (the TPU VMs of v2 and v3).
- Boot disks are `pd-ssd`, `pd-standard` or `hyperdisk-balanced`; when none is given, a3-ultragpu
  machines get `hyperdisk-balanced` (they cannot boot from a persistent disk), the others
  `pd-ssd`; the size defaults to 100 GB.
"""

from __future__ import annotations

import re

BOOT_DISK_TYPES = ("pd-ssd", "pd-standard", "hyperdisk-balanced")
DEFAULT_BOOT_DISK_TYPE = "pd-ssd"
DEFAULT_BOOT_DISK_SIZE_GB = 100
_HYPERDISK_ONLY = ("a3-ultragpu-",)  # machine type prefixes that boot from hyperdisk only

# Families Vertex AI lists for custom training: general purpose (e2, n1, n2, n2d, n4, c2, c2d,
# c3, c3d, c4), memory optimized (m1, m2, m3), accelerator optimized (a2, a3, a4, a4x, g2, g4)
# and Cloud TPU (ct4p, ct5lp, ct5p, ct6e).
MACHINE_FAMILIES = frozenset(
    {
        "e2",
        "n1",
        "n2",
        "n2d",
        "n4",
        "c2",
        "c2d",
        "c3",
        "c3d",
        "c4",
        "m1",
        "m2",
        "m3",
        "a2",
        "a3",
        "a4",
        "a4x",
        "g2",
        "g4",
        "ct4p",
        "ct5lp",
        "ct5p",
        "ct6e",
    }
)
_LEGACY_TPU = "cloud-tpu"
_SHAPE = re.compile(r"^(?P<family>[a-z][a-z0-9]*)-(?P<kind>[a-z]+)-(?P<size>[1-9][0-9]{0,3})[gt]?$")


def is_machine_type(machine_type: str) -> bool:
    """Whether Vertex AI offers `machine_type` for training (by family and shape)."""
    if machine_type == _LEGACY_TPU:
        return True
    shape = _SHAPE.match(machine_type)
    return shape is not None and shape["family"] in MACHINE_FAMILIES


def default_boot_disk_type(machine_type: str) -> str:
    """The boot disk type the service gives a pool that names none."""
    if machine_type.startswith(_HYPERDISK_ONLY):
        return "hyperdisk-balanced"
    return DEFAULT_BOOT_DISK_TYPE
