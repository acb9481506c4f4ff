"""The nbgrader course: its folder, its gradebook, and what goes in and out of it.

- :mod:`~autograder.course.layout`: the course folder's layout and its settings;
- :mod:`~autograder.course.prepare`: making a course (folder and gradebook);
- :mod:`~autograder.course.gradebook`: nbgrader's database, read and written;
- :mod:`~autograder.course.collect`: submissions in (folders and zips, checked);
- :mod:`~autograder.course.nbgrader_grading`: nbgrader's autograde of the
  notebooks, with :mod:`~autograder.course.preprocessors`;
- :mod:`~autograder.course.feedback`, :mod:`~autograder.course.export`:
  grades out (feedback notebooks, CSV and LMS exports);
- :mod:`~autograder.course.gradescope`: the same grading as a Gradescope
  autograder (with ``gradescope_template/``).
"""
