"""The README's main-job command: every shipped example through the local runner."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from jsonschema import Draft202012Validator

from lib.chat.compatible_servers import adapt_request
from lib.validation import load_schema, to_json_schema
from tests.support.openai_standin import DEFAULT_PORT, OpenAIStandIn
from tests.support.openapi_contract import validate
from tests.support.recording_server import run_cli

API_KEY = "sk-local-SECRET-key"
EXAMPLE_MESSAGES = ["hello.json", "json_mode.json", "tools.json", "image.json", "stream.json"]


@pytest.fixture(scope="module")
def openai():
    with OpenAIStandIn(api_key=API_KEY, validator=validate) as standin:
        yield standin
        assert standin.violations == []


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("example", EXAMPLE_MESSAGES)
def test_example_runs_through_send_request(example, openai, repo_root):
    cfg = json.loads((repo_root / "examples/cfg-local.json").read_text())
    cfg["baseUrl"] = openai.url
    done = run_cli(["exec", "sendRequest", "--msg", f"examples/{example}",
                    "--cfg", json.dumps(cfg)], {"OPENAI_API_KEY": API_KEY}, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert API_KEY not in done.stdout + done.stderr
    kinds = [e["event"] for e in events(done.stdout)]
    assert kinds == ["data", "end"]
    answer = events(done.stdout)[0]["payload"]["body"]
    assert answer["object"] == "chat.completion"
    sent = openai.chat_requests()[-1].body
    expected = json.loads((repo_root / "examples" / example).read_text())["body"]
    assert sent["messages"] == adapt_request(expected, cfg["serverType"])["messages"]


RESPONSE_EXAMPLES = ["response_hello.json", "response_web_search.json",
                     "response_json_schema.json", "response_background.json"]


@pytest.mark.parametrize("example", RESPONSE_EXAMPLES)
def test_example_runs_through_create_response(example, openai, repo_root):
    cfg = json.loads((repo_root / "examples/cfg-response.json").read_text())
    cfg["baseUrl"] = openai.url
    done = run_cli(["exec", "createResponse", "--msg", f"examples/{example}",
                    "--cfg", json.dumps(cfg)],
                   {"OPENAI_API_KEY": API_KEY, "RESPONSES_POLL_FIRST_S": "0.05",
                    "RESPONSES_POLL_MAX_S": "0.1"}, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert API_KEY not in done.stdout + done.stderr
    emitted = events(done.stdout)
    background = example == "response_background.json"
    expected_kinds = ["updateSnapshot", "updateSnapshot", "data", "end"] if background \
        else ["data", "end"]
    assert [e["event"] for e in emitted] == expected_kinds
    answer = emitted[-2]["payload"]["body"]
    assert answer["object"] == "response"
    assert answer["status"] == "completed"
    assert answer["output_text"]
    sent = openai.response_requests()[-1].body
    expected = json.loads((repo_root / "examples" / example).read_text())["body"]
    # a background create goes as a stream: its first event names the job
    assert sent == {**expected, "model": cfg["model"],
                    **({"store": True, "stream": True} if background else {})}
    if "text" in expected:
        assert answer["parsed"] == json.loads(answer["output_text"])


# (action, its example config, its example messages)
ONE_KIND_EXAMPLES = [
    ("createEmbeddings", "cfg-embeddings.json", "embeddings.json"),
    ("createEmbeddings", "cfg-embeddings.json", "embeddings_list.json"),
    ("moderate", "cfg-moderation.json", "moderate.json"),
    ("moderate", "cfg-moderation.json", "moderate_image.json"),
]


@pytest.mark.parametrize(("action", "config", "example"), ONE_KIND_EXAMPLES)
def test_example_runs_through_its_action_and_passes_the_output_schema(
        action, config, example, openai, repo_root):
    cfg = json.loads((repo_root / "examples" / config).read_text())
    cfg["baseUrl"] = openai.url
    done = run_cli(["exec", action, "--msg", f"examples/{example}", "--cfg", json.dumps(cfg)],
                   {"OPENAI_API_KEY": API_KEY}, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert API_KEY not in done.stdout + done.stderr
    emitted = events(done.stdout)
    assert [e["event"] for e in emitted] == ["data", "end"]
    answer = emitted[0]["payload"]["body"]
    out = Draft202012Validator(to_json_schema(load_schema(f"{action}.out.json")))
    assert [e.message for e in out.iter_errors(answer)] == []
    expected = json.loads((repo_root / "examples" / example).read_text())["body"]
    path = {"createEmbeddings": "/v1/embeddings", "moderate": "/v1/moderations"}[action]
    assert openai.json_routes.bodies[path][-1] == {**expected, "model": cfg["model"]}


def test_the_stand_in_config_runs_the_main_job(openai, repo_root):
    """examples/cfg-standin.json (the Quick start's), pointed at this test's stand-in."""
    cfg = json.loads((repo_root / "examples/cfg-standin.json").read_text())
    cfg["baseUrl"] = openai.url
    done = run_cli(["exec", "sendRequest", "--msg", "examples/hello.json",
                    "--cfg", json.dumps(cfg)], {"OPENAI_API_KEY": API_KEY}, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [e["event"] for e in events(done.stdout)] == ["data", "end"]


def test_example_configs_take_the_key_from_the_environment(repo_root):
    names = sorted(path.name for path in (repo_root / "examples").glob("cfg*.json"))
    assert names == ["cfg-embeddings.json", "cfg-image.json", "cfg-local.json",
                     "cfg-moderation.json", "cfg-response.json", "cfg-speech.json",
                     "cfg-standin.json", "cfg-transcribe.json", "cfg-upload.json", "cfg.json"]
    for name in names:
        cfg = json.loads((repo_root / "examples" / name).read_text())
        assert cfg["apiKey"] == "env:OPENAI_API_KEY"


def quick_start_blocks(repo_root) -> list[str]:
    readme = (repo_root / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.DOTALL)


def test_readme_main_job_commands_name_shipped_files(repo_root):
    commands = [line for block in quick_start_blocks(repo_root)[1:]
                for line in block.splitlines() if "elasticio_sailor exec" in line]
    assert len(commands) == 2  # with an OpenAI key, and against the stand-in
    for command in commands:
        words = shlex.split(command.replace("…", "x"))
        assert words[0] in ("OPENAI_API_KEY=x", "OPENAI_API_KEY=anything")
        for flag in ("--msg", "--cfg"):
            assert (repo_root / words[words.index(flag) + 1]).is_file()


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def test_the_stand_in_and_the_local_server_example_use_different_ports(repo_root):
    standin_block = quick_start_blocks(repo_root)[2]
    standin_port = int(re.search(r"openai_standin --port (\d+)", standin_block).group(1))
    assert standin_port == DEFAULT_PORT
    assert "examples/cfg-standin.json" in standin_block
    standin_cfg = json.loads((repo_root / "examples/cfg-standin.json").read_text())
    assert port_of(standin_cfg["baseUrl"]) == standin_port

    readme = (repo_root / "README.md").read_text()
    local_servers = readme.split("### Local servers", 1)[1].split("\n### ", 1)[0]
    llama_port = int(re.search(r"llama_cpp\.server .*--port (\d+)", local_servers).group(1))
    assert "examples/cfg-local.json" in local_servers
    local_cfg = json.loads((repo_root / "examples/cfg-local.json").read_text())
    assert port_of(local_cfg["baseUrl"]) == llama_port
    assert llama_port != standin_port


# The file actions' examples: (action, message, config). Their files are the examples'
# own (file: URLs, which exec reads from the folders --allow-files names); the speech and
# the images go to --attachments-dir.
FILE_EXAMPLES = [
    ("transcribeAudio", "transcribe_audio.json", "cfg-transcribe.json"),
    ("createSpeech", "create_speech.json", "cfg-speech.json"),
    ("uploadFile", "upload_file.json", "cfg-upload.json"),
    ("generateImage", "generate_image.json", "cfg-image.json"),
    ("editImage", "edit_image.json", "cfg-image.json"),
]


@pytest.mark.parametrize("case", FILE_EXAMPLES, ids=[case[0] for case in FILE_EXAMPLES])
def test_file_examples_run_through_exec(case, openai, repo_root, tmp_path):
    action, example, config = case
    cfg = json.loads((repo_root / "examples" / config).read_text())
    cfg["baseUrl"] = openai.url
    done = run_cli(["exec", action, "--msg", f"examples/{example}", "--cfg", json.dumps(cfg),
                    "--attachments-dir", str(tmp_path), "--allow-files", "examples"],
                   {"OPENAI_API_KEY": API_KEY}, repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert API_KEY not in done.stdout + done.stderr
    emitted = events(done.stdout)
    assert [e["event"] for e in emitted] == ["data", "end"]
    output = emitted[0]["payload"]
    out_schema = to_json_schema(load_schema(f"{action}.out.json"))
    assert list(Draft202012Validator(out_schema).iter_errors(output["body"])) == []
    for entry in (output.get("attachments") or {}).values():  # written where we said
        written = Path(url2pathname(urlsplit(entry["url"]).path))
        assert written.parent == tmp_path
        assert written.stat().st_size == entry["size"]
