"""Exact interleaving counts and probabilities, worked out by hand."""
from fractions import Fraction

from conftest import assert_outcomes, explored


def test_lost_update_counter_has_2_good_and_18_lost_interleavings(counter_yaml):
    """3 steps each: C(6,3) = 20 orders; x == 2 only when one thread runs entirely first."""
    assert_outcomes(counter_yaml, {
        ("finished", (2,)): (2, Fraction(1, 4)),    # AAABBB, BBBAAA: (1/2)^3 each
        ("finished", (1,)): (18, Fraction(3, 4)),
    })


def test_two_threads_of_three_independent_steps_have_20_interleavings():
    """Locals only: every order of 3 + 3 steps is one interleaving, C(6, 3) = 20."""
    _, analysis = explored("""
        threads:
          A: |
            a = 1
            a = 2
            a = 3
          B: |
            b = 1
            b = 2
            b = 3
    """)
    assert analysis.interleavings == 20
    assert [o.interleavings for o in analysis.outcomes] == [20]


def test_x_plus_one_in_two_threads_is_a_read_and_a_write_each():
    """x = x + 1 is two steps, so C(4, 2) = 6 orders; x == 2 only in the 2 serial ones."""
    from conftest import assert_outcomes
    assert_outcomes("""
        shared: {x: 0}
        threads:
          A: x = x + 1
          B: x = x + 1
    """, {("finished", (2,)): 2, ("finished", (1,)): 4})
