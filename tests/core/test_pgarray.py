"""``pg_text_array``: a list of texts reaches PostgreSQL as exactly that array, whatever the texts hold."""

import pytest
from django.db import connection

from core.pgarray import pg_text_array
from tests.warehouse.conftest import requires_postgres

AWKWARD = ["TCS", "M&M", "BAJAJ-AUTO", "a,b", "{x}", 'say "hi"', "back\\slash", "NULL", " spaced ", "", "ऑ"]


@requires_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("values", [[], ["TCS"], ["TCS", "INFY", "M&M"], AWKWARD, [f"SYM{i}" for i in range(3000)]])
def test_the_server_reads_back_the_same_list(values):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [pg_text_array(values)])
        assert cursor.fetchone()[0] == values


@requires_postgres
@pytest.mark.django_db
def test_it_matches_with_any_like_a_list_would():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v FROM unnest(%s::text[]) AS v WHERE v = ANY(%s::text[])",
            [pg_text_array(AWKWARD), pg_text_array(['say "hi"', "a,b", "NULL", "absent"])],
        )
        assert {r[0] for r in cursor.fetchall()} == {"NULL", "a,b", 'say "hi"'}


def test_plain_symbols_are_quoted_in_one_join():
    assert pg_text_array(["TCS", "M&M"]) == '{"TCS","M&M"}'
    assert pg_text_array(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'
