"""The page helpers' layout (pages/_ui): one-way imports, module sizes, and the Markdown escaping every
page uses for user text. No Streamlit app runs here (see test_app_escaping_and_log.py for that)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pages._ui.base import MD_SPECIAL, md

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "pages" / "_ui"
MAX_LINES = 600


def _ui_imports(path: Path) -> set[str]:
    """The pages._ui modules ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pages._ui":
                found |= {a.name for a in node.names}
            elif node.module.startswith("pages._ui."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("pages._ui.")}
    return found - {path.stem}


def ui_graph() -> dict[str, set[str]]:
    return {p.stem: _ui_imports(p) for p in sorted(UI.glob("*.py")) if p.stem != "__init__"}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_ui_modules_import_one_way():
    graph = ui_graph()
    assert {"base", "common", "live", "sweeps_ui"} <= set(graph)
    assert find_cycle(graph) is None, f"import cycle among pages/_ui modules: {' -> '.join(find_cycle(graph))}"
    assert graph["base"] == set(), "base is the bottom: it imports no other pages/_ui module"
    for name, deps in graph.items():
        assert "common" not in deps or name == "common", f"{name} imports the facade common (only pages may)"


def test_ui_modules_are_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in UI.glob("*.py")}
    assert max(sizes.values()) <= MAX_LINES, sizes


def test_common_still_offers_every_helper_the_pages_use():
    from pages._ui import common as ui

    used = set()
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        used |= set(re.findall(r"\bui\.([A-Za-z_]\w*)", page.read_text(encoding="utf-8")))
    assert not [name for name in used if not hasattr(ui, name)]


# ----------------------------------------------------------------------------- md()


@pytest.mark.parametrize("ch", sorted("\\`*_{}[]()#+-.!|<>~$"))
def test_md_escapes_every_markdown_character(ch):
    assert ch in MD_SPECIAL
    assert md(f"a{ch}b") == f"a\\{ch}b"


@pytest.mark.parametrize("text", ["[click](http://evil)", "![x](http://evil/x.png)", "<img src=x onerror=alert(1)>",
                                  "**bold** _it_ ~~gone~~ `code`", "# heading", "1. item", "- item", "$x^2$",
                                  ":red[alarm] :material/home:", "www.evil.example", "http://evil.example/a"])
def test_md_leaves_no_markdown_construct(text):
    out = md(text)
    # every special character is preceded by a backslash that is not itself escaped
    unescaped = re.sub(r"\\.", "", out)
    assert not set(unescaped) & MD_SPECIAL, (text, out)
    assert re.sub(r"\\(.)", r"\1", out) == text           # reads the same on screen


def test_md_makes_one_line():
    assert md("a\nb\r\nc") == "a b  c"
    assert md(None) == "None" and md(3.5) == "3\\.5"
