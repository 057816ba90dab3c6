# python/tests/conftest.py - pytest fixtures for the binding's tests: fresh names that are
# removed afterwards, children that are killed afterwards, and which memview and libmemview
# the run uses (in pytest's header).
#
# SPDX-License-Identifier: MIT

import pytest

import memview
from helpers import Child, unique_name


def pytest_report_header(config):
    lib = [l.split()[-1] for l in open("/proc/self/maps") if "libmemview" in l]
    return "memview %s from %s, libmemview %s" % (
        memview.__version__, memview.__file__, lib[0] if lib else "?")


@pytest.fixture
def segname():
    names = []

    def make():
        names.append(unique_name("seg"))
        return names[-1]

    yield make
    for n in names:
        try:
            memview.Segment.unlink(n, force=True)
        except FileNotFoundError:
            pass


@pytest.fixture
def channame():
    return lambda: unique_name("chan")


@pytest.fixture
def child():
    kids = []

    def start(code, *args, **kw):
        kids.append(Child(code, *args, **kw))
        return kids[-1]

    yield start
    for k in kids:
        k.close()
