"""The subcommands of ``cs-convnet-course``, one module each (dispatched by :mod:`autograder.cli`).

Each module holds only the command line of its command, the work being done
by the library (:mod:`autograder.course`, :mod:`autograder.engine`,
:mod:`autograder.report`, :mod:`autograder.qa`):

- ``HELP``: the one-line description shown by ``cs-convnet-course --help``
  and as the command's own description;
- ``add_arguments(parser)``: the command's options;
- ``run(args, course_dir)``: arguments to library calls, and the printing;
  returns the exit status. Errors are raised, never printed:
  :func:`cs_convnet.cli.run_command` turns them into one line.

``run`` imports the library when the command runs, so that ``--help`` and
argument errors answer at once (the library takes seconds to import) and an
import failure is reported like any other error.
:mod:`~autograder.apps.arguments` holds the argument types and path checks
that several commands share.
"""
