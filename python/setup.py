"""Builds liblayerlab.so with CMake from the repository this folder sits in and ships it inside the package.

    pip install ./python            # from the repository root (or `pip install .` inside python/)

Environment:
    LAYERLAB_SOURCE_DIR  the repository (default: the parent of this folder)
    LAYERLAB_BUILD_DIR   a CMake build folder to use (configured here if it is not yet; default python/build/cmake)
    LAYERLAB_NATIVE      ON (default) compiles for this machine's CPU (-march=native); OFF for a portable build
    LAYERLAB_JOBS        parallel compile jobs (default: the machine's cores)
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("LAYERLAB_SOURCE_DIR", HERE.parent)).resolve()


def _version():
    cm = ROOT / "CMakeLists.txt"
    if not cm.is_file():
        raise SystemExit(f"layerlab: {cm} not found: the Python package is built from the layerlab repository "
                         "(python/ inside it); set LAYERLAB_SOURCE_DIR to the repository")
    m = re.search(r"project\(layerlab\s+VERSION\s+([0-9.]+)", cm.read_text())
    if not m:
        raise SystemExit(f"layerlab: no 'project(layerlab VERSION x.y.z)' in {cm}")
    return m.group(1)


class BuildWithLibrary(build_py):
    """build_py, then CMake's layerlab_shared target, copied into the package as liblayerlab.so."""

    def run(self):
        super().run()
        bdir = Path(os.environ.get("LAYERLAB_BUILD_DIR") or HERE / "build" / "cmake").resolve()
        if shutil.which("cmake") is None:
            raise SystemExit("layerlab: cmake is not installed (Debian: scripts/setup.sh installs it and the libraries "
                             "liblayerlab needs: libpcre2-dev libcjson-dev libsqlite3-dev libutf8proc-dev)")
        if not (bdir / "CMakeCache.txt").is_file():
            native = os.environ.get("LAYERLAB_NATIVE", "ON")
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(bdir), "-DCMAKE_BUILD_TYPE=Release",
                                   f"-DLAYERLAB_NATIVE={native}"])
        jobs = os.environ.get("LAYERLAB_JOBS") or str(os.cpu_count() or 2)
        subprocess.check_call(["cmake", "--build", str(bdir), "--target", "layerlab_shared", "-j", jobs])
        lib = bdir / "liblayerlab.so"
        if not lib.exists():
            raise SystemExit(f"layerlab: the build did not produce {lib}")
        dest = Path(self.build_lib) / "layerlab"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib.resolve(), dest / "liblayerlab.so")
        (dest / "_build_info.py").write_text(
            "# written by setup.py when the package was built\n"
            f"SOURCE_DIR = {str(ROOT)!r}\n"
            f"VERSION = {_version()!r}\n")


class BinaryDistribution(Distribution):
    """The wheel holds a shared library: a platform wheel, not a pure-Python one."""

    def has_ext_modules(self):
        return True


setup(version=_version(), distclass=BinaryDistribution, cmdclass={"build_py": BuildWithLibrary})
