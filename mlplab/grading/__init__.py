"""The trusted side: the reference implementation, the pytest grader runner, and the hook that
stock ``nbgrader autograde`` calls from the hidden grade cells."""
