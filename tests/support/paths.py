"""Where the tests find the checkout and the fixture files (a plain module: conftests import it before plugins load)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
FIXTURES = ROOT / "tests" / "fixtures"
