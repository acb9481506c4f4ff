"""Do the hidden checks kill buggy variants of every learner function?

The full run (``python -m autograder.qa.mutation --jobs 2``) takes minutes; here
one hand-written classic bug per learner function and an evenly spaced
sample of the generated mutants must all lose points, and each classic bug
must lose them on the function it breaks.
"""

import pytest

from autograder.checks import all_checks
from autograder.qa import mutation
from autograder.sandbox.isolation import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")

GENERATED_SAMPLE = 12


def test_every_learner_function_has_classic_mutants():
    """Is there an applicable hand-written bug for every function a check targets, and for nothing else?"""
    assert {m.function for m in mutation.all_mutants("classic")} == {c.function for c in all_checks()}
    assert [m.id for m in mutation.stale_mutants()] == []


def test_generated_mutants_cover_every_solution_region():
    """Do the textual rules produce variants in every function holding a solution region?"""
    functions = {m.function for m in mutation.all_mutants("generated")}
    assert functions == {c.function for c in all_checks()}


def _first_per_function(mutants):
    seen, picked = set(), []
    for mutant in mutants:
        if mutant.function not in seen:
            seen.add(mutant.function)
            picked.append(mutant)
    return picked


CLASSIC = _first_per_function(mutation.all_mutants("classic"))
GENERATED = [m for m in mutation.all_mutants("generated") if m.id not in mutation.EQUIVALENT]
GENERATED = GENERATED[:: max(1, len(GENERATED) // GENERATED_SAMPLE)]


@pytest.mark.parametrize("mutant", CLASSIC, ids=lambda m: f"{m.function}: {m.description}")
def test_classic_bug_loses_points_on_its_function(mutant):
    result = mutation.run_mutant(mutant, seed=11)
    assert result["killed"] and result["targets_hit"], result


@pytest.mark.parametrize("mutant", GENERATED, ids=lambda m: m.id)
def test_generated_mutant_loses_points(mutant):
    result = mutation.run_mutant(mutant, seed=12)
    assert result["killed"], result
