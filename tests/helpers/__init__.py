"""Helpers shared by the project's tests (``from .helpers.paths import ROOT``); fixtures live in conftest.py.

- ``paths``: the checkout's folders, its source notebooks, the real-data folder
- ``slots``: this xdist worker's own range of sandbox slots (uids, process limits)
- ``cli``: the ``mlplab`` command in a subprocess (``run_mlplab``, ``grade_json``, ``run_in``, ``one_sentence``)
- ``course``: a scratch course with its own gradebook, and submissions into it
- ``manual``: a submission with a written answer, and hand grading as the formgrader does it
- ``submissions``: submission folders filled the way a student would
- ``attacks``, ``hostgrowth``: hostile submissions and the host-side growth they cause
- ``similarity_class``: a class with planted copies for the similarity report
- ``sandbox``: the fork loop and the wait for a sandbox uid's processes to end
- ``browser``: the system Chromium that Playwright drives
- ``waiting``: ``wait_for``, polling with a deadline (the hub tests)
- ``english_left``: English left in a translated edition (``python -m tests.helpers.english_left FOLDER``)
"""
