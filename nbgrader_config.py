"""nbgrader configuration of the MLP Lab course (course_id ``mlp-lab``)."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

c.CourseDirectory.course_id = "mlp-lab"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = os.environ.get(
    "MLPLAB_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
# The exchange (release_assignment / fetch_assignment / submit / collect): a folder inside the course,
# writable by whoever runs these commands ($MLPLAB_EXCHANGE overrides it; for a class on a shared
# server use a world-writable sticky folder such as /srv/nbgrader/exchange, see docs/instructor-guide.md).
# nbgrader's default, /usr/local/share/nbgrader/exchange, is not writable by students or instructors.
c.Exchange.root = os.environ.get("MLPLAB_EXCHANGE", os.path.join(c.CourseDirectory.root, "exchange"))
# helper code ships with the notebooks; data never does
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "data", ".pytest_cache"]

# The optional task fc_net_challenge grades the trained weights a student submits next to the notebooks
# (fc_net_challenge.npz, written by labutils.challenge.save_challenge_model). `nbgrader autograde` copies the
# source folder's files over each submission: never the instructor's own copy of this file over a student's.
c.Autograde.exclude_overwriting = {"mlp": ["fc_net_challenge.npz"]}

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

# Late submissions lose 10% of the total (autograded + manual) per started day after the student's due date
# (extensions included): mlplab/course/late.py; `mlplab autograde` and `mlplab extend` keep it current.
c.AssignLatePenalties.plugin_class = "mlplab.course.late.PercentPerDayPenalty"
c.PercentPerDayPenalty.percent_per_day = 10.0
# `nbgrader export` recomputes every penalty from the current grades and shows effective due dates.
c.ExportApp.plugin_class = "mlplab.course.late.LateAwareCsvExportPlugin"
# Hand-grading in the formgrader (and every other gradebook change) recomputes the penalty at once.
from mlplab.course.late import penalties_follow_grades  # noqa: E402

penalties_follow_grades(c)
