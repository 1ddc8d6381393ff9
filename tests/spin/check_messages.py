#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The Promela model speaks the code's protocol: every mtype name in fence.pml must be declared
in the C headers (X-macro tables parsed as text), and every method of IOMMU_HOTPLUG_METHODS
and every fence-related client method must be modelled or listed below as out of scope."""
import re
import sys
from pathlib import Path

top = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
model = Path(__file__).resolve().parent / "fence.pml"

IOMMU_PROTOCOL = top / "libs/libiommu/include/iommu/protocol.h"
IOMMU_SERVER = top / "libs/libiommu/include/iommu/server.h"
GONE = top / "libs/libhotplug/include/hotplug/gone.h"
HOTPLUG = top / "libs/libhotplug/include/hotplug/hotplug.h"
HPSRV = top / "servers/pcie-hotplug/include/hpsrv/protocol.h"
VTD_DIR = top / "libs/libvtd"

# Methods of the IOMMU server's protocols that the model leaves out, and why.
OUT_OF_SCOPE = {
    "COUNTS": "leak accounting read by the hotplug server; no effect on the fence protocol",
    "PORT_IRQ": "interrupt remapping of the hotplug port's own vector; not a device of the slot",
}
# Client methods that take part in the fence protocol (every one must be modelled).
FENCE_CLIENT_METHODS = ["UNMAP", "ATS_FLUSH", "PASID_BIND", "PASID_UNBIND"]


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def xmacro_body(text, name):
    """The continuation lines of #define name(X) ... as one string."""
    m = re.search(r"#define\s+" + re.escape(name) + r"\((\w)\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if not m:
        sys.exit(f"check_messages: X-macro table {name} not found")
    return m.group(1), m.group(2).replace("\\\n", " ")


def xmacro_names(path, table, prefix=""):
    x, body = xmacro_body(strip_c_comments(path.read_text()), table)
    return {prefix + n for n in re.findall(r"\b" + x + r"\(\s*(\w+)", body)}


def enum_names(path, enum):
    text = strip_c_comments(path.read_text())
    m = re.search(r"enum\s+" + enum + r"\s*\{(.*?)\}", text, flags=re.S)
    if not m:
        sys.exit(f"check_messages: enum {enum} not found in {path}")
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+)\b", m.group(1)))


def model_mtypes(path):
    text = re.sub(r"/\*.*?\*/", " ", path.read_text(), flags=re.S)
    names = []
    for body in re.findall(r"mtype\s*=\s*\{(.*?)\}", text, flags=re.S):
        names += [n.strip() for n in body.split(",") if n.strip()]
    return names, text


def main():
    declared = {}

    def add(names, where):
        for n in names:
            declared.setdefault(n, where)

    client = xmacro_names(IOMMU_PROTOCOL, "IOMMU_CLIENT_METHODS")
    hotplug = xmacro_names(IOMMU_PROTOCOL, "IOMMU_HOTPLUG_METHODS")
    add(client, "IOMMU_CLIENT_METHODS")
    add(hotplug, "IOMMU_HOTPLUG_METHODS")
    add(xmacro_names(IOMMU_PROTOCOL, "IOMMU_ERRORS"), "IOMMU_ERRORS")
    add(xmacro_names(IOMMU_PROTOCOL, "IOMMU_HP_ERRORS"), "IOMMU_HP_ERRORS")
    proto = strip_c_comments(IOMMU_PROTOCOL.read_text())
    add(re.findall(r"#define\s+(IOMMU_STATUS_\w+|IOMMU_FENCE_\w+)\b", proto), "protocol.h")
    add(enum_names(IOMMU_SERVER, "iommu_dev_state"), "enum iommu_dev_state")
    add(enum_names(IOMMU_SERVER, "iommu_pasid_state"), "enum iommu_pasid_state")
    add(xmacro_names(GONE, "HP_GONE_METHODS", "HP_GONE_"), "HP_GONE_METHODS")
    add(xmacro_names(HOTPLUG, "HP_STATES"), "HP_STATES")
    add(xmacro_names(HOTPLUG, "HP_EVENTS"), "HP_EVENTS")
    add(xmacro_names(HPSRV, "HPS_DRIVER_METHODS"), "HPS_DRIVER_METHODS")
    add(xmacro_names(HPSRV, "HPS_CONTROL_METHODS"), "HPS_CONTROL_METHODS")
    # libvtd: operation kinds and errors
    vtd_text = "\n".join(strip_c_comments(p.read_text())
                         for p in sorted(VTD_DIR.rglob("*.h")))
    add(set(re.findall(r"\b(VTD_OP_[A-Z0-9_]+)\s*[,=}]", vtd_text)), "libvtd enum vtd_op")
    m = re.search(r"#define\s+VTD_ERRORS\((\w)\)((?:[^\n]*\\\n)*[^\n]*)", vtd_text)
    if m:
        add(set(re.findall(r"\b" + m.group(1) + r"\(\s*(\w+)", m.group(2).replace("\\\n", " "))),
            "VTD_ERRORS")

    names, text = model_mtypes(model)
    errors = []
    if not names:
        errors.append("no mtype declarations found in fence.pml")
    for n in names:
        if n not in declared:
            errors.append(f"mtype {n} of fence.pml is not declared in the C protocol headers")
    for n in sorted(hotplug):
        if n in OUT_OF_SCOPE:
            continue
        if n not in names or not re.search(r"hp_call\s*!\s*" + n + r"\b", text):
            errors.append(f"IOMMU_HOTPLUG_METHODS {n} is neither modelled (sent on hp_call) "
                          "nor listed as out of scope")
    for n in OUT_OF_SCOPE:
        if n not in hotplug and n not in client:
            errors.append(f"out-of-scope entry {n} is no method of the IOMMU protocols")
    for n in FENCE_CLIENT_METHODS:
        if n not in client:
            errors.append(f"{n} is no longer in IOMMU_CLIENT_METHODS")
        if not re.search(r"drv_call\s*!\s*" + n + r"\b", text):
            errors.append(f"client method {n} is not sent by the model's driver")
    for e in errors:
        print("FAIL:", e)
    if errors:
        return 1
    print(f"ok: {len(names)} model names found in the C declarations; "
          f"hotplug methods modelled: {sorted(hotplug - set(OUT_OF_SCOPE))}, "
          f"out of scope: {sorted(OUT_OF_SCOPE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
