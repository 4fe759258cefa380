"""Every message the app can show has its Simplified Chinese translation in the catalog.

The message ids are what babel's extractor finds with ``babel.cfg`` (Python: ``gettext``/``_``/``ngettext``/
``lazy_gettext`` and the services' ``msg()``; templates: ``_()`` and ``{% trans %}``). English needs no catalog:
a message id *is* the English text (Flask-Babel shows the id when the locale has no entry), so only
``app/translations/zh/LC_MESSAGES/messages.po`` is checked: each id there, with a non-empty msgstr (every
plural form) that is not marked fuzzy. Add a missing one with ``scripts/add-translations 'English=中文'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.support.paths import ROOT

CATALOG = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2), "msg": None}

MessageId = str | tuple[str, ...]


def used_message_ids(root: Path = ROOT) -> dict[MessageId, str]:
    """Message id -> the first place (``file:line``) that uses it, over the files ``babel.cfg`` names."""
    with (root / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    used: dict[MessageId, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS, directory_filter=_only_app(root)):
        used.setdefault(message, f"{filename}:{lineno}")
    return used


def _only_app(root: Path) -> Callable[[str], bool]:
    """babel's directory filter: walk ``app/`` only (not node_modules, not the venv)."""
    app = root / "app"
    return lambda path: Path(path) == app or app in Path(path).parents


def chinese_catalog(path: Path = CATALOG) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="zh")


def untranslated(used: Mapping[MessageId, str], catalog: Catalog) -> list[str]:
    """``file:line: message id`` for every used id the catalog lacks, leaves empty or marks fuzzy."""
    return [f"{where}: {message_id!r}" for message_id, where in sorted(used.items(), key=lambda item: item[1])
            if not _translated(catalog.get(_key(message_id)))]


def _key(message_id: MessageId) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id  # a plural is filed by its singular


def _translated(entry: Message | None) -> bool:
    if entry is None or entry.fuzzy:
        return False
    return all(_strings(entry.string))


def _strings(value: str | Iterable[str]) -> Iterator[str]:
    yield from ([value] if isinstance(value, str) else value)


def test_every_message_the_app_shows_has_its_chinese_translation() -> None:
    used = used_message_ids()

    assert len(used) > 400  # the extractor read the code and the templates
    missing = untranslated(used, chinese_catalog())
    assert not missing, "no Chinese for (scripts/add-translations 'English=中文'):\n" + "\n".join(missing)


def test_every_translation_keeps_the_placeholders_of_its_message_id() -> None:
    # a %(name)s missing or misspelt in the msgstr makes gettext raise, a 500 in Chinese only
    broken = [f"{message.id!r}: {'; '.join(map(str, errors))}" for message, errors in chinese_catalog().check()]

    assert not broken, "\n".join(broken)


def test_a_missing_empty_or_fuzzy_translation_is_reported(tmp_path: Path) -> None:
    (tmp_path / "babel.cfg").write_text("[python: app/**.py]\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(
        'from app.services.errors import msg\n'
        '_("Saved.")\n_("Nothing yet.")\nmsg("no file %(name)s", name="x")\nlazy_gettext("Half done.")\n',
        encoding="utf-8")
    catalog = Catalog(locale="zh")
    catalog.add("Saved.", "已保存。")
    catalog.add("Nothing yet.", "")
    catalog.add("Half done.", "完成一半。", flags=["fuzzy"])

    reported = untranslated(used_message_ids(tmp_path), catalog)

    assert [line.split(": ", 1)[1] for line in reported] == ["'Nothing yet.'", "'no file %(name)s'", "'Half done.'"]
