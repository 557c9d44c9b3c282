"""The documentation site: ``mkdocs build --strict`` passes, and building it runs every tutorial.

The site is built once, in a scratch copy of the sources (the tutorials' gallery is generated
next to the pages, so building in place would write into docs/). mkdocs-gallery executes each
``tutorials/tutorial_*.py`` during the build; the tests check that each ran (its page holds its
printed output and its figures), so the tutorials are run in CI exactly once, by the build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = sorted(p.stem for p in (REPO / "tutorials").glob("tutorial_*.py"))
#: text that must not reach a page: machine paths and this project's internal commands
FORBIDDEN = re.compile(r"/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\\\Users|PYTHONPATH=")

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocs_gallery", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("matplotlib", reason="the tutorials draw with matplotlib (the plot extra)")
pytest.importorskip("nir", reason="tutorial 5 exports to NIR (the nir extra)")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, str]:
    """Build the site strictly from a copy of the sources; returns (site folder, build log)."""
    work = tmp_path_factory.mktemp("docs")
    for name in ("mkdocs.yml", "README.md", "REPRODUCTION.md", "BENCHMARKS.md", "LICENSE"):
        shutil.copy(REPO / name, work / name)
    shutil.copytree(REPO / "docs", work / "docs", ignore=shutil.ignore_patterns("tutorials"))
    shutil.copytree(REPO / "tutorials", work / "tutorials", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "src").symlink_to(REPO / "src")
    env = dict(
        os.environ,
        NO_MKDOCS_2_WARNING="1",
        OMP_NUM_THREADS="1",
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(work / "site")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    return work / "site", log


def test_strict_build_has_no_warning(site):
    _, log = site
    assert re.search(r"Documentation built in [\d.]+ seconds", log)
    assert not [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]


def test_every_tutorial_ran_and_shows_its_output_and_plots(site):
    folder, log = site
    assert len(TUTORIALS) >= 5
    assert f"executed {len(TUTORIALS)} out of {len(TUTORIALS)} file" in log
    for name in TUTORIALS:
        page = (folder / "tutorials" / name / "index.html").read_text()
        assert "Out:" in page or "mkd-result-output" in page or "mkd-glr-script-out" in page, name
        images = re.findall(rf'src="[^"]*(mkd_glr_{name}_\d+\.png)"', page)
        assert images, f"{name} shows no figure"
        for image in images:
            assert list(folder.rglob(image)), f"{name}: {image} was not generated"
        assert "Traceback" not in page, name


def test_api_reference_documents_the_public_api(site):
    folder, _ = site
    pages = {
        p: (folder / "api" / p / "index.html").read_text()
        for p in ("train", "energy", "export", "nn", "data", "params", "cpu_allocator")
    }
    assert "fullspike.train.Trainer" in pages["train"] and "on_epoch_end" in pages["train"]
    assert "count_synaptic_ops" in pages["energy"] and "EnergyReport" in pages["energy"]
    assert "to_nir" in pages["export"] and "check_deployable" in pages["export"]
    assert "[T, B, ...]" in pages["nn"]
    assert "balanced_indices" in pages["data"] and "check_arguments" in pages["params"]
    assert "tune_cpu_allocator" in pages["cpu_allocator"]
    assert ":func:" not in pages["train"]  # Sphinx roles are rendered, not shown


def test_root_pages_are_included_and_their_images_resolve(site):
    folder, _ = site
    home = (folder / "index.html").read_text()
    assert "Set-up: two commands" in home
    for page in ("reproducing", "benchmarks"):
        html = (folder / page / "index.html").read_text()
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            if not src.startswith(("http:", "https:", "data:")):
                assert (folder / page / src).resolve().is_file(), f"{page}: broken image {src}"


def test_every_relative_link_of_every_page_resolves(site):
    """mkdocs reports a link out of the docs folder (README's ``LICENSE``) at INFO level only, so
    --strict passes with it dead: every relative href of the built site must name a file."""
    folder, _ = site
    dead = []
    for page in folder.rglob("*.html"):
        for href in re.findall(r'href="([^"#?]+)', page.read_text()):
            if href.startswith(("http:", "https:", "mailto:", "data:", "/")):  # site-absolute (the 404 page)
                continue
            target = (page.parent / href).resolve()
            if not (target.is_file() or (target / "index.html").is_file()):
                dead.append(f"{page.relative_to(folder)}: {href}")
    assert not dead, "\n".join(dead[:20])


def test_no_page_shows_a_machine_path_or_an_internal_command(site):
    folder, _ = site
    found = []
    for page in folder.rglob("*.html"):
        text = re.sub(r"<[^>]+>", "", page.read_text())
        found += [f"{page.relative_to(folder)}: {m.group(0)!r}" for m in FORBIDDEN.finditer(text)]
    assert not found, "\n".join(found[:20])


def test_sources_show_no_machine_path_or_internal_command():
    """The same scan on the Markdown and tutorial sources and the JSON records under docs/ (the
    study's stores), without building (fast feedback)."""
    sources = [REPO / n for n in ("README.md", "REPRODUCTION.md", "BENCHMARKS.md")]
    sources += sorted((REPO / "docs").rglob("*.md")) + sorted((REPO / "tutorials").glob("*.py"))
    sources += sorted((REPO / "docs").rglob("*.json"))  # the study's stores and recorded runs
    found = []
    for path in sources:
        if REPO / "docs" / "tutorials" in path.parents:
            continue  # the gallery generated from tutorials/ (the site test scans its HTML)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
