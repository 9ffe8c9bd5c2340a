"""Print the README's "Where things are" map: one line per module of the package, from the
first sentence of its docstring. ``python scripts/module_map.py --write`` updates README.md
between its ``<!-- module-map -->`` markers; tests/test_architecture.py checks it is current."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "quartiersim"
START, END = "<!-- module-map start -->", "<!-- module-map end -->"


def first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.strip().split("\n\n")[0].split())
    return text.split(". ")[0].rstrip(".")


def module_map() -> str:
    lines = []
    for p in sorted(PACKAGE.rglob("*.py")):
        if p.name == "__main__.py":
            continue
        rel = p.relative_to(PACKAGE.parent)
        package = p.name == "__init__.py"
        depth = len(rel.parts) - (2 if package else 1)
        name = rel.parts[-2] + "/" if package else rel.parts[-1]
        text = first_sentence(p)
        text = text if len(text) <= 90 else text[:89].rsplit(" ", 1)[0] + " ..."
        lines.append(f"{'  ' * depth}{name:<{30 - 2 * depth}} {text}")
    return "```\n" + "\n".join(lines) + "\n```"


def readme_block(text: str) -> str:
    return text[text.index(START) + len(START):text.index(END)].strip()


if __name__ == "__main__":
    block = module_map()
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        text = text[:text.index(START) + len(START)] + "\n" + block + "\n" + text[text.index(END):]
        readme.write_text(text, encoding="utf-8")
    else:
        print(block)
