# python/setup.py - builds the extension memview._memview the way Python users build packages
# ("pip install ./python"), against an installed libmemview that pkg-config finds (set
# PKG_CONFIG_PATH to the directory of its memview.pc when it is not in a standard place). The
# package's version is libmemview's. The metadata is in pyproject.toml; the project's own
# build (configure --enable-python) builds the same sources without this file.
#
# SPDX-License-Identifier: MIT
import shlex
import subprocess

from setuptools import Extension, setup


def pkgconfig(*args):
    try:
        return subprocess.run(["pkg-config", *args, "memview"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        raise SystemExit("memview: pkg-config cannot find libmemview: install memview, or set "
                         "PKG_CONFIG_PATH to the directory of its memview.pc\n" + err)


version = pkgconfig("--modversion")
cflags = shlex.split(pkgconfig("--cflags"))
libs = shlex.split(pkgconfig("--libs"))
libdirs = [f[2:] for f in libs if f.startswith("-L")]

setup(
    version=version,
    ext_modules=[
        Extension(
            "memview._memview",
            sources=["src/module.c", "src/segment.c", "src/channel.c"],
            depends=["src/binding.h"],
            include_dirs=[f[2:] for f in cflags if f.startswith("-I")],
            library_dirs=libdirs,
            libraries=[f[2:] for f in libs if f.startswith("-l")],
            # Found at run time where pkg-config found it, also outside ld.so's paths.
            runtime_library_dirs=libdirs,
            define_macros=[("MEMVIEW_PY_VERSION", '"%s"' % version)],
        )
    ],
)
