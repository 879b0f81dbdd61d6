"""Library mutants (``mlplab validate-graders --mutation``) that compute the same thing as the reference.

``EQUIVALENT`` maps a mutant's name (``<cell>:<operator>#<occurrence>``) to a one-line reason. A
mutant listed here is not counted in the mutation score; every other surviving mutant is a gap to
close with a new check.
"""

EQUIVALENT: dict[str, str] = {}
