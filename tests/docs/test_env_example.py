from pathlib import Path

from newsflow_kit.envdoc import render

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting_with_its_default() -> None:
    assert (ROOT / ".env.example").read_text() == render(), ".env.example is stale: run `make env-example`"


def test_readme_documents_the_shared_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    shared = render().split("# --- shared by every service ---")[1].split("\n# --- ")[0]
    for line in shared.splitlines():
        if line.startswith("NEWSFLOW_"):
            name = line.split("=", 1)[0]
            leaf = name.rsplit("__", 1)[-1]
            assert name in readme or f"__{leaf}" in readme, f"README does not mention {name}"
