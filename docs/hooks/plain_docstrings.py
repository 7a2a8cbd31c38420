"""A griffe extension for the API reference: the docstrings are plain prose (docs/contributing.md),
and the site shows them as they are written.

Markdown would read some of their text as markup: `<w_r, mu_j>` as an HTML tag (dropped), `a * b *
c` or `x_i ... y_j` as emphasis, a list or an indented formula right under a line of text as part of
that paragraph. So, outside `code spans`, the characters \\ < > * _ are escaped, and a blank line
separates a list or an indented block from a line of text right above it (and a list from one
right below); an indented block (four spaces or more) is left as it is, and Markdown shows it in a
fixed-width font.
"""

from __future__ import annotations

import re

import griffe

CODE_SPAN = re.compile(r"(`+)(.+?)\1")
ITEM = re.compile(r"([-*+]|\d+[.)])\s")
ESCAPES = {"\\": "\\\\", "<": "&lt;", ">": "&gt;", "*": "\\*", "_": "\\_"}


def escape(line: str) -> str:
    """The line with Markdown's special characters escaped, except inside code spans."""
    parts, last = [], 0
    for span in CODE_SPAN.finditer(line):
        parts.append(_escape(line[last : span.start()]))
        parts.append(span.group(0))
        last = span.end()
    parts.append(_escape(line[last:]))
    return "".join(parts)


def _escape(text: str) -> str:
    return "".join(ESCAPES.get(c, c) for c in text)


def plain(text: str) -> str:
    """A plain-prose docstring as Markdown that shows it as written."""
    out: list[str] = []
    block = False  # inside an indented block
    in_list = False  # the last text line belongs to a list
    for line in text.split("\n"):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped:
            out.append("")
            in_list = False
            continue
        if indent >= 4 and not in_list:
            if not block and out and out[-1] != "":
                out.append("")  # an indented block under a line of text: a block of its own
            block = True
            out.append(line)
            continue
        item = ITEM.match(stripped) is not None
        if item and not in_list and not block and out and out[-1] != "":
            out.append("")  # a list right under a line of text
        if in_list and not item and indent == 0:
            out.append("")  # a line of text right under a list ends it
        block = False
        in_list = item or (in_list and indent > 0)
        out.append(escape(line))
    return "\n".join(out)


class PlainDocstrings(griffe.Extension):
    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
