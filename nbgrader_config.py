"""nbgrader configuration of the MLP Lab course (course_id ``mlp-lab``)."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

c.CourseDirectory.course_id = "mlp-lab"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = os.environ.get(
    "MLPLAB_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
# helper code ships with the notebooks; data never does
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "data", ".pytest_cache"]

# Stock `nbgrader autograde` executes every notebook top to bottom in quick mode.
c.ExecutePreprocessor.timeout = 300
c.ExecutePreprocessor.interrupt_on_timeout = True
c.Execute.timeout = 300

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Solutions are released after the deadline: no hidden tests, no outputs, and not executed (so
# `nbgrader generate_solution` is fast and its output is reproducible; CI checks solutions/ is fresh).
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearOutput, IncludeHeaderFooter, LockCells  # noqa: E402

c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearHiddenTests, ClearMarkScheme]

# Late submissions lose 10% of the notebook's score per started day (mlplab/course/late.py).
c.AssignLatePenalties.plugin_class = "mlplab.course.late.PercentPerDayPenalty"
c.PercentPerDayPenalty.percent_per_day = 10.0
