# SPDX-License-Identifier: BSD-2-Clause
"""Image descriptions written by CMake's pc_add_image() into <build>/images/<name>.json:

    {"name": "default", "kernel": "kernel/kernel.elf", "append": "",
     "machine": "iommu", "qemu_args": [...],
     "modules": [{"path": "tasks/init.elf", "args": "..."}, ...]}

Paths are relative to the build directory (absolute paths are kept as they are). QEMU runs with
the build directory as its working directory, so the module strings the guest sees are short:
"tasks/init.elf args". Module 0 is the root task.
"""
import json
import os

from . import machines


class ImageError(Exception):
    pass


class Image:
    def __init__(self, build_dir, data, source):
        self.build_dir = os.path.abspath(build_dir)
        self.source = source
        try:
            self.name = data["name"]
            self.kernel = data["kernel"]
            self.modules = [(m["path"], m.get("args", "")) for m in data.get("modules", [])]
        except (KeyError, TypeError) as e:
            raise ImageError(f"{source}: malformed image description ({e})")
        self.append = data.get("append", "")
        self.machine = data.get("machine", machines.DEFAULT_PRESET)
        self.qemu_args = list(data.get("qemu_args", []))
        # A QMP script the image runs with unless the caller names another (bench.py, run.py).
        self.qmp_script = data.get("qmp_script") or None
        if self.machine not in machines.PRESETS:
            raise ImageError(f"{source}: unknown machine preset {self.machine!r}")

    def path(self, p):
        return p if os.path.isabs(p) else os.path.join(self.build_dir, p)

    def rel(self, p):
        """p relative to the build directory when it lies inside it (QEMU runs there, and the
        guest sees module strings as given: keep them short)."""
        if os.path.isabs(p):
            r = os.path.relpath(p, self.build_dir)
            if not r.startswith(".."):
                return r
        return p

    def check_files(self):
        """Raises ImageError naming the first missing file."""
        for p in [self.kernel] + [m[0] for m in self.modules]:
            if not os.path.isfile(self.path(p)):
                raise ImageError(f"image {self.name}: {self.path(p)} does not exist (not built?)")

    def qemu_command(self, qemu="qemu-system-x86_64", extra=()):
        """The full command line (without serial/QMP/trace, which the runner adds)."""
        cmd = [qemu] + machines.preset_args(self.machine) + self.qemu_args + list(extra)
        cmd += ["-kernel", self.rel(self.kernel)]
        if self.modules:
            parts = []
            for path, args in self.modules:
                path = self.rel(path)
                # QEMU separates modules by commas; a comma inside cannot be expressed.
                if "," in path or "," in args:
                    raise ImageError(f"image {self.name}: module {path!r} {args!r} contains ','")
                parts.append(f"{path} {args}".strip())
            cmd += ["-initrd", ",".join(parts)]
        if self.append:
            cmd += ["-append", self.append]
        return cmd


def images_dir(build_dir):
    return os.path.join(build_dir, "images")


def load(build_dir, name):
    path = name if name.endswith(".json") else os.path.join(images_dir(build_dir), name + ".json")
    if not os.path.isfile(path):
        raise ImageError(f"no image {name!r} ({path} missing; is there a pc_add_image({name} ...)?)")
    with open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ImageError(f"{path}: {e}")
    return Image(build_dir, data, path)


def available(build_dir):
    d = images_dir(build_dir)
    if not os.path.isdir(d):
        return []
    return sorted(f[:-5] for f in os.listdir(d) if f.endswith(".json"))
