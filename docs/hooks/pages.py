"""The site's mkdocs hooks: pages made from files that live elsewhere in the repository, and math.

- INCLUDED files (the walkthrough, the reports, the benchmarks, the changelog) and the figures they
  show become pages and images of the site as they are, read at build time: nothing is copied into
  docs/. Their relative links are rewritten from repository paths to site paths (a link to another
  included file goes to its page; anything else is left, and `mkdocs build --strict` reports it).
- The notebooks (notebooks/*.py) become pages with their outputs (docs/hooks/notebooks.py executes
  them, or reuses build/notebooks/ when a source is unchanged), with their figures and the executed
  .ipynb beside them.
- TeX that pymdownx.arithmatex marks ($...$, $$...$$) becomes MathML (latex2mathml), which browsers
  draw themselves: the pages need no script and no network. So does a heading's TeX where the
  theme repeats it in the tables of contents.
"""

from __future__ import annotations

import html
import posixpath
import re
import sys
from pathlib import Path

from latex2mathml.converter import convert
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))
import notebooks  # noqa: E402  (docs/hooks/notebooks.py, beside this file)

ROOT = notebooks.ROOT
INCLUDED = {  # repository path -> site path
    "theory/WALKTHROUGH.md": "walkthrough.md",
    "figures/REPORT.md": "report.md",
    "figures/full/REPORT.md": "report-full.md",
    "BENCHMARKS.md": "benchmarks.md",
    "CHANGELOG.md": "changelog.md",
    # written in docs/ with links relative to the repository, as they are read on a code host
    "docs/guide.md": "user-guide.md",
    "docs/studies.md": "the-studies.md",
}
ELSEWHERE = {"README.md": "index.md"}  # links to these go to a page of docs/ instead
FIGURES = ("figures/*.png", "figures/full/*.png")  # included under the same paths
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
MATH = re.compile(
    r'<(span|div) class="arithmatex">\s*\\[(\[](.*?)\\[)\]]\s*</\1>', re.S
)  # arithmatex's generic output: \( ... \) inline, \[ ... \] as a block


def site_paths() -> dict[str, str]:
    """Repository path -> site path of the included files and figures."""
    paths = {k: v for k, v in INCLUDED.items() if (ROOT / k).is_file()}
    for pattern in FIGURES:
        paths.update(
            {str(p.relative_to(ROOT)): str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)}
        )
    return paths


def on_files(files, config):
    """Add the included files, the figures and the notebooks (with their outputs) to the site."""
    for source, target in site_paths().items():
        files.append(File.generated(config, target, content=(ROOT / source).read_bytes()))
    for source in sorted(notebooks.SOURCES.glob("*.py")):
        nb = notebooks.executed(source)
        page, images = notebooks.to_markdown(nb, source.stem)
        seconds = nb.metadata["fldm"]["seconds"]
        head = (
            f"*A notebook, shown with the outputs of its run on the code of this site "
            f"({seconds:.0f} s on one core). Source: "
            f"`notebooks/{source.name}` (jupytext's percent format: open it in Jupyter, or run it "
            f"as a script); executed: [{source.stem}.ipynb]({source.stem}.ipynb).*\n\n"
        )
        title, _, rest = page.partition("\n")  # the notebook's first line is its title
        base = f"notebooks/{source.stem}"
        files.append(File.generated(config, f"{base}.md", content=f"{title}\n\n{head}{rest}"))
        files.append(File.generated(config, f"{base}.ipynb", content=nbformat_bytes(nb)))
        for name, data in images.items():
            files.append(File.generated(config, f"notebooks/{name}", content=data))
    return files


def nbformat_bytes(nb) -> bytes:
    import nbformat

    return nbformat.writes(nb).encode()


def on_page_markdown(markdown, page, config, files):
    """Links in an included file, from its repository place to its place in the site."""
    paths = site_paths()
    origin = {v: k for k, v in paths.items()}.get(page.file.src_uri)
    if origin is None or not origin.endswith(".md"):
        return markdown
    paths.update(ELSEWHERE)

    def move(match):
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):  # a URL, an anchor, an absolute path
            return match.group(0)
        path, hash_, anchor = target.partition("#")
        repo = posixpath.normpath(posixpath.join(posixpath.dirname(origin), path))
        if repo not in paths:
            return match.group(0)
        here = posixpath.dirname(page.file.src_uri) or "."
        moved = posixpath.relpath(paths[repo], here) + hash_ + anchor
        return match.group(1) + moved + match.group(3)

    return LINK.sub(move, markdown)


def on_page_content(content, page, config, files):
    """TeX marked by arithmatex, as MathML."""

    def mathml(match):
        tex = html.unescape(match.group(2))
        return convert(tex, display="block" if match.group(1) == "div" else "inline")

    return MATH.sub(mathml, content)


PRE = re.compile(r"(<pre\b.*?</pre>)", re.S)
INLINE_TEX = re.compile(r"\\\((.+?)\\\)")


def on_post_page(output, page, config):
    """TeX left in the page outside its content (a heading's math in the tables of contents), as
    MathML too; code blocks are left alone."""
    parts = PRE.split(output)
    return "".join(
        part if i % 2 else INLINE_TEX.sub(lambda m: convert(html.unescape(m.group(1))), part)
        for i, part in enumerate(parts)
    )
