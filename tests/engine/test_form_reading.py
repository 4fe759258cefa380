"""Reading a form file: one that breaks the JSON-Schema meta-schema is refused on every read.

The meta-schema check is remembered by the file's bytes (app/engine/library.py), so a redeploy of
unchanged forms skips it; a fixed file under the same name is judged on its own bytes.
"""

from __future__ import annotations

from app.engine import read_library

BROKEN = b'{"type": "object", "properties": {"note": {"type": "text"}}}'  # "text" is no JSON-Schema type
FIXED = b'{"type": "object", "properties": {"note": {"type": "string"}}}'


def refusals(content: bytes) -> list[str]:
    library = read_library({"note.json": content})
    return [problem.message for problem in library.problems if problem.file == "note.json"]


def test_a_form_that_breaks_the_meta_schema_is_refused_every_time_it_is_deployed():
    first, again = refusals(BROKEN), refusals(BROKEN)

    assert len(first) == 1 and first[0].startswith("form is not a valid JSON Schema: ")
    assert again == first


def test_the_fixed_form_is_accepted_and_the_broken_one_still_refused():
    assert refusals(BROKEN) != []
    assert refusals(FIXED) == []
    assert refusals(BROKEN) != []
