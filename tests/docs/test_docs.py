"""Every ```bash block of README.md, PRETRAINED_MODELS.md and docs/*.md runs as written, in order, in a scratch
folder, on the repository's real files (tests/docs/doc_runner.py); blocks marked ``<!-- docs: skip (REASON) -->``
are reported with their reason. The whole report is printed at the end of the session."""
import re

import pytest

import doc_runner as runner


@pytest.mark.parametrize("path", runner.docs())
def test_the_commands_of_the_doc_run_as_written(path, tmp_path):
    results = runner.run_file(path, str(tmp_path / re.sub(r"\W", "_", path)))
    runner.RESULTS.extend(results)
    failed = [b for b in results if b.status == "failed"]
    assert not failed, "\n" + runner.report(results)


def test_a_skip_needs_its_reason_and_a_fence(tmp_path, monkeypatch):
    for text, message in (("<!-- docs: skip -->\n```bash\nfalse\n```\n", "REASON"),
                          ("<!-- docs: skip (GPU) -->\n\n```bash\nfalse\n```\n", "directly above")):
        (tmp_path / "x.md").write_text(text)
        monkeypatch.setattr(runner, "ROOT", str(tmp_path))
        with pytest.raises(ValueError, match=message):
            runner.blocks("x.md")


def test_a_broken_block_fails_naming_its_command(tmp_path, monkeypatch):
    (tmp_path / "x.md").write_text("<!-- docs: skip (needs a GPU) -->\n```bash\nfalse\n```\n\n"
                                   "```bash\necho one\nls no_such_file\necho never\n```\n\n```bash\necho after\n```\n")
    monkeypatch.setattr(runner, "ROOT", str(tmp_path))
    results = runner.run_file("x.md", str(tmp_path / "scratch"))
    assert [b.status for b in results] == ["skipped", "failed", "not run"]
    assert results[1].failed_command == "ls no_such_file" and "echo never" not in results[1].output
    text = runner.report(results)
    assert "x.md:2 " in text and "skipped (needs a GPU)" in text and "x.md:12 " in text
    assert "x.md:6" in text and "failed command: ls no_such_file" in text


# "--index-url": no index given on a command line (scripts read the one the machine is configured with).
REGISTRY_HOSTS = ("pypi.org", "pythonhosted.org", "registry.npmjs.org", "--index-url", "pypi.python.org")


def test_no_package_registry_host_is_named_in_the_repository():
    """Docs link to projects' own pages; scripts take indexes and mirrors from the machine's configuration."""
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=runner.ROOT, capture_output=True, text=True).stdout.split()
    this = "tests/docs/test_docs.py"
    found = []
    for name in files:
        path = f"{runner.ROOT}/{name}"
        if name == this or not name.endswith((".md", ".py", ".sh", ".txt", ".toml", ".cfg", ".json", "Dockerfile",
                                              ".otbtf", ".yml", ".yaml", ".ini")):
            continue
        try:
            text = open(path, encoding="utf-8").read().lower()
        except (OSError, UnicodeDecodeError):
            continue
        found += [f"{name}: {host}" for host in REGISTRY_HOSTS if host in text]
    assert not found, found


def test_a_block_that_writes_into_the_repository_fails(tmp_path, monkeypatch):
    (tmp_path / "examples").mkdir()
    (tmp_path / "x.md").write_text("```bash\ntouch examples/side.aux.xml\n```\n")
    monkeypatch.setattr(runner, "ROOT", str(tmp_path))
    results = runner.run_file("x.md", str(tmp_path / "scratch"))
    assert results[0].status == "failed" and "wrote into the repository: examples/side.aux.xml" in \
        results[0].failed_command
    assert not (tmp_path / "examples" / "side.aux.xml").exists()
