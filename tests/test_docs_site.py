"""The documentation site's machinery (docs/hooks/): docstrings shown as written, notebooks turned
into pages with their outputs, included files' links moved to their place in the site, TeX turned
into MathML; and the site's configuration names what exists (every notebook in the navigation,
every module of the API pages importable). The built site is checked in a browser by
tests/test_site.py (slow)."""

import importlib
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "docs" / "hooks"
sys.path.insert(0, str(HOOKS))


def test_plain_docstrings_show_as_written():
    pytest.importorskip("griffe")
    from plain_docstrings import plain

    text = (
        "Summary with <w_r, mu_j> and a * b * c and x_i, `code_span <x>` kept.\n"
        "A list right below:\n"
        "- first: <a, b>\n"
        "  continued\n"
        "- second\n"
        "Text right under the list.\n"
        "A formula right below:\n"
        "    signal = mean_j max_r <w_r, mu_j>\n"
        "\n"
        "The end."
    )
    assert plain(text).split("\n") == [
        r"Summary with &lt;w\_r, mu\_j&gt; and a \* b \* c and x\_i, `code_span <x>` kept.",
        "A list right below:",
        "",
        "- first: &lt;a, b&gt;",
        "  continued",
        "- second",
        "",
        "Text right under the list.",
        "A formula right below:",
        "",
        "    signal = mean_j max_r <w_r, mu_j>",
        "",
        "The end.",
    ]


def notebook():
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = b"\x89PNG\r\n\x1a\n fake"
    import base64

    cells = [
        new_markdown_cell("# Title\n\nText with $x^2$."),
        new_code_cell(
            "print(1); print(2)",
            outputs=[
                new_output("stream", name="stdout", text="1\n"),
                new_output("stream", name="stdout", text="2\n"),
            ],
        ),
        new_code_cell(
            "plot()",
            outputs=[
                new_output("display_data", data={"image/png": base64.b64encode(png).decode()}),
                new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
            ],
        ),
        new_code_cell('s = """```"""', outputs=[]),
        new_code_cell("   ", outputs=[]),
    ]
    return nbformat, new_notebook(cells=cells), png


def test_a_notebook_becomes_a_page_with_its_outputs():
    _, nb, png = notebook()
    from notebooks import to_markdown

    page, images = to_markdown(nb, "nb")
    assert images == {"nb_files/cell2_0.png": png}
    assert page == (
        "# Title\n\nText with $x^2$.\n\n"
        "```python\nprint(1); print(2)\n```\n\n"
        "```text\n1\n2\n```\n\n"  # the two prints, one block
        "```python\nplot()\n```\n\n"
        "![output of cell 2](nb_files/cell2_0.png)\n\n"
        "```text\n42\n```\n\n"
        '````python\ns = """```"""\n````\n'  # a fence longer than the backticks inside
    )


def test_an_unchanged_notebook_is_not_run_again(tmp_path, monkeypatch):
    nbformat, nb, _ = notebook()
    import notebooks

    source = tmp_path / "nb.py"
    source.write_text("# %%\nprint(1)\n")
    monkeypatch.setattr(notebooks, "BUILD", tmp_path / "build")
    (tmp_path / "build").mkdir()
    nb.metadata["fldm"] = {"source_sha256": notebooks.source_hash(source), "seconds": 1.0}
    nbformat.write(nb, tmp_path / "build" / "nb.ipynb")
    assert notebooks.executed(source).cells[0].source == "# Title\n\nText with $x^2$."
    source.write_text("# %%\nraise SystemExit('run again')\n")  # changed: it would be executed
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    nbclient = pytest.importorskip("nbclient")
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="run again"):
        notebooks.executed(source)


def test_included_files_links_move_to_the_site():
    pytest.importorskip("mkdocs")
    pytest.importorskip("latex2mathml")
    import pages as hook

    page = SimpleNamespace(file=SimpleNamespace(src_uri="walkthrough.md"))
    markdown = (
        "[report](../figures/REPORT.md#d1-holds) ![fig](../figures/fig_phase.png) "
        "[home](../README.md) [code](../sims/cli.py) [web](https://example.org/x.md) [here](#top)"
    )
    assert hook.on_page_markdown(markdown, page, None, None) == (
        "[report](report.md#d1-holds) ![fig](figures/fig_phase.png) "
        "[home](index.md) [code](../sims/cli.py) [web](https://example.org/x.md) [here](#top)"
    )
    report = SimpleNamespace(file=SimpleNamespace(src_uri="report.md"))
    assert hook.on_page_markdown("![a](fig_ratio.png)", report, None, None) == (
        "![a](figures/fig_ratio.png)"
    )
    own = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))  # a page of docs/: as it is
    assert hook.on_page_markdown("[w](walkthrough.md)", own, None, None) == "[w](walkthrough.md)"
    html = (
        '<p><span class="arithmatex">\\(a &lt; b\\)</span></p>'
        '<div class="arithmatex">\\[\\frac{1}{2}\\]</div>'
    )
    converted = hook.on_page_content(html, page, None, None)
    assert "arithmatex" not in converted and converted.count("<math") == 2
    assert "<mo>&#x0003C;</mo>" in converted and 'display="block"' in converted
    toc = '<nav><a>1. A \\(\\Theta(n)\\) claim</a></nav><pre><code>re.sub(r"\\(x\\)")</code></pre>'
    after = hook.on_post_page(toc, page, None)
    assert "<math" in after and "Theta" not in after and 'r"\\(x\\)"' in after  # code: as it is


def test_the_configuration_names_what_exists():
    text = (ROOT / "mkdocs.yml").read_text()
    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))
    assert len(sources) >= 3
    assert re.findall(r"notebooks/(\w+)\.md", text) == sources  # every notebook, in order
    for stem in sources:
        source = (ROOT / "notebooks" / f"{stem}.py").read_text()
        assert "format_name: percent" in source and "\n# %% [markdown]\n# # " in source
    modules = [
        m
        for page in (ROOT / "docs" / "api").glob("*.md")
        for m in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M)
    ]
    assert {"sims.data", "sims.train", "theory.predict", "theory.ode"} <= set(modules)
    for name in modules:
        assert importlib.import_module(name).__doc__, name


def test_the_front_pages_python_runs(capsys):
    """The Python example of docs/index.md, run as written; it prints the run's final ratio."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "index.md").read_text(), re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/index.md", "exec"), {})
    assert float(capsys.readouterr().out) > 0
