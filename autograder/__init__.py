"""The course's autograder: hidden checks run against sandboxed submissions.

Instructor-only: never shipped in the student edition, never visible inside
the sandbox. :mod:`autograder.grade_one` grades one submission directory;
:mod:`autograder.sandbox` isolates the learner's code;
:mod:`autograder.worker` is what runs inside the sandbox;
:mod:`autograder.checks` holds the hidden checks.
"""
