"""The direction of imports: pages -> ui -> analysis, never the reverse."""

import ast
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"


def imports_of(path: Path, packages: set[str]) -> list[str]:
    """The imports of one Python file from the given top-level packages, as 'file: module'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in packages]
    return found


def streamlit_imports(path: Path) -> list[str]:
    """The streamlit imports of one Python file."""
    return imports_of(path, {"streamlit"})


def test_analysis_never_imports_streamlit():
    assert [hit for path in ANALYSIS.rglob("*.py") for hit in streamlit_imports(path)] == []


def test_analysis_never_imports_the_dashboard():
    dashboard = {"ui", "pages", "gate", "dashboard"}
    assert [hit for path in ANALYSIS.rglob("*.py") for hit in imports_of(path, dashboard)] == []


def test_the_check_sees_an_import_of_the_dashboard(tmp_path):
    f = tmp_path / "module.py"
    f.write_text("import ui\nfrom ui.show import table\nfrom pages import overview\nimport uikit\n")
    assert imports_of(f, {"ui", "pages"}) == ["module.py: ui", "module.py: ui.show", "module.py: pages"]


def test_the_check_sees_every_form_of_a_streamlit_import(tmp_path):
    f = tmp_path / "page.py"
    f.write_text(
        "import os\nimport streamlit as st\nfrom streamlit.testing.v1 import AppTest\ndef f():\n    import streamlit\n"
    )
    assert len(streamlit_imports(f)) == 3


def test_every_name_of_the_public_api_resolves():
    import analysis

    for name in analysis.__all__:
        assert callable(getattr(analysis, name)), name


def test_an_unknown_name_says_what_the_api_has():
    import pytest

    import analysis

    with pytest.raises(AttributeError, match="the public API: Definitions"):
        _ = analysis.nothing_here
