"""Fixtures of the course tests: the tiny assignment's course, prepared once per module."""

import shutil

import pytest

from autograder.course import layout as course_mod
from support import nbgrader_factory as factory


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A prepared course (gradebook made once: it takes seconds) with the tiny assignment's source."""
    return factory.prepare_tiny_course(tmp_path_factory.mktemp("prepared") / "course")


@pytest.fixture
def course(prepared, tmp_path):
    """A copy of the prepared course, so that `cli collect` does not prepare one."""
    shutil.copytree(prepared.root, tmp_path / "course")
    return course_mod.Course(tmp_path / "course")
