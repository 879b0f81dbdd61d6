"""Late-submission policy of the course: 10% of the notebook's score per started day late.

nbgrader's built-in policies are "none" and "zero"; this plugin follows the
same interface (:class:`nbgrader.plugins.LateSubmissionPlugin`) and is enabled
in ``nbgrader_config.py``, so stock nbgrader and ``mlplab autograde`` apply it alike.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDayPenalty(LateSubmissionPlugin):
    """Subtract ``percent_per_day`` of the score for every started day late (capped at the score)."""

    percent_per_day = Float(10.0, help="Penalty per started day late, in percent of the score").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / 86400)
        return min(score, score * self.percent_per_day * days / 100.0)
