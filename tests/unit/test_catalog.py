"""Bundled catalogs: every entry loads, derived figures match the publishers' numbers, and bad input fails clearly."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from disagg_pipelines import catalog
from disagg_pipelines.catalog import hub as hf_hub
from disagg_pipelines.domain.errors import (
    HubUnavailable,
    InvalidModelConfig,
    UnknownGpu,
    UnknownModel,
)
from disagg_pipelines.domain.precision import Precision

BF16 = Precision()

# (hf_id, total B, active B, active convention). Tolerance 1 %: publishers round to 3 significant figures
# (8.03, 70.6, 405.9, 46.7, 12.9, 116.8 ...), which is at most 0.5 % of rounding, plus slack for buffers such as
# DeepSeek's e_score_correction_bias that are counted here. "all": active includes the input embedding (Mistral, Qwen);
# "no_embed": it does not (DeepSeek README_WEIGHTS.md, gpt-oss model card).
PUBLISHED = [
    ("meta-llama/Llama-3.1-8B", 8.03, None, None),
    ("meta-llama/Llama-3.1-70B", 70.6, None, None),
    ("meta-llama/Llama-3.1-405B", 405.9, None, None),
    ("Qwen/Qwen3-8B", 8.2, None, None),
    ("Qwen/Qwen3-32B", 32.8, None, None),
    ("Qwen/Qwen3-30B-A3B", 30.5, 3.3, "all"),
    ("Qwen/Qwen3-235B-A22B", 235.0, 22.0, "all"),
    ("mistralai/Mixtral-8x7B-v0.1", 46.7, 12.9, "all"),
    ("deepseek-ai/DeepSeek-V3", 671.0, 36.6, "no_embed"),
    ("openai/gpt-oss-120b", 116.8, 5.13, "no_embed"),
    ("openai/gpt-oss-20b", 20.9, 3.61, "no_embed"),
]
TOL = 0.01
TOL_2_DIGITS = 0.02   # "3.3B", "22B": two significant figures; Qwen's 3.3 for 3.353 B looks truncated, not rounded


@pytest.mark.parametrize("hf_id,total_b,active_b,convention", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_params_match_published(hf_id: str, total_b: float, active_b: float | None, convention: str | None) -> None:
    m = catalog.load_model(hf_id)
    assert m.total_params / 1e9 == pytest.approx(total_b, rel=TOL)
    if active_b is None:
        assert m.active_params == m.total_params
    else:
        active = m.active_params if convention == "all" else m.active_params_excluding_embedding
        two_digits = active_b == round(active_b, 1) and active_b < 10 or active_b == round(active_b)
        assert active / 1e9 == pytest.approx(active_b, rel=TOL_2_DIGITS if two_digits else TOL)


def test_qwen3_non_embedding_counts_match_model_cards() -> None:
    # Qwen model cards: Qwen3-8B 6.95 B and Qwen3-32B 31.2 B non-embedding (embedding and lm_head both excluded).
    for hf_id, non_embed_b in (("Qwen/Qwen3-8B", 6.95), ("Qwen/Qwen3-32B", 31.2)):
        m = catalog.load_model(hf_id)
        assert (m.total_params - 2 * m.embedding_params) / 1e9 == pytest.approx(non_embed_b, rel=TOL)


def test_deepseek_v3_total_and_mtp_excluded() -> None:
    m = catalog.load_model("deepseek-ai/DeepSeek-V3")
    assert m.num_layers == 61                       # num_nextn_predict_layers (MTP) not counted
    assert m.active_params / 1e9 == pytest.approx(37.0, rel=0.02)   # model card "37B" (embedding included: 37.55)
    assert m.native_precision == "fp8" and m.attention_kind == "mla"
    assert m.moe.first_dense_layers == 3 and m.moe.num_shared_experts == 1


def test_kv_bytes_per_token_exact() -> None:
    assert catalog.load_model("meta-llama/Llama-3.1-8B").kv_bytes_per_token(BF16) == 131072   # 2*32*8*128*2
    assert catalog.load_model("deepseek-ai/DeepSeek-V3").kv_bytes_per_token(BF16) == (512 + 64) * 61 * 2
    assert catalog.load_model("meta-llama/Llama-3.1-8B").kv_bytes_per_token(Precision.parse("fp8")) == 65536


def test_gpt_oss_sliding_layers_sinks_and_fp4() -> None:
    m = catalog.load_model("openai/gpt-oss-120b")
    assert (m.num_sliding_layers, m.sliding_window_tokens, m.native_precision) == (18, 128, "fp4")
    assert m.attention_sinks and m.attention_out_bias and m.moe.expert_bias and m.moe.router_bias
    per_layer = 2 * 8 * 64 * 2
    assert m.kv_bytes_for_context(4096, BF16) == per_layer * (18 * 4096 + 18 * 128)


def test_fp8_halves_block_linear_layers() -> None:
    m = catalog.load_model("meta-llama/Llama-3.1-70B")
    other = m.total_params - m.linear_params
    assert m.weight_bytes(BF16) - m.weight_bytes(Precision.parse("fp8")) == m.linear_params
    assert m.weight_bytes(Precision.parse("fp8")) == m.linear_params + 2 * other
    assert other == 2 * m.embedding_params + m.hidden_size * (2 * m.num_layers + 1)


def test_every_bundled_model_loads_and_has_source() -> None:
    ids = catalog.list_models()
    assert len(ids) >= 15
    for hf_id in ids:
        entry = catalog.model_entry(hf_id)
        assert entry["source"] == f"https://huggingface.co/{hf_id}/blob/main/config.json"
        assert "from" in entry["published"]
        m = catalog.load_model(hf_id)
        assert m.name == hf_id and m.total_params > 0 and m.active_params <= m.total_params


def test_local_config_file_and_folder(tmp_path: Path) -> None:
    cfg = dict(catalog.model_entry("Qwen/Qwen3-8B")["config"])
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    from_dir = catalog.load_model(str(tmp_path))
    from_file = catalog.load_model(str(tmp_path / "config.json"))
    assert from_dir.total_params == from_file.total_params == catalog.load_model("Qwen/Qwen3-8B").total_params


@pytest.mark.parametrize("content,needle", [
    ("{not json", "cannot read model config"),
    ("[1, 2]", "holds a list, not a JSON object"),
    (json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}), "lacks 'num_attention_heads'"),
    (json.dumps({"architectures": ["BertModel"]}), "architecture 'BertModel' is not supported"),
])
def test_bad_local_config(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(InvalidModelConfig, match=needle.replace("(", r"\(")):
        catalog.load_model(str(path))


def test_unknown_model_and_gpu_messages(tmp_path: Path) -> None:
    with pytest.raises(UnknownModel, match="does not exist"):
        catalog.load_model(str(tmp_path / "nope.json"))
    with pytest.raises(UnknownModel, match="Hub was not consulted"):
        catalog.load_model("acme/never-heard-of-it")
    with pytest.raises(UnknownGpu, match=r"unknown GPU 'tpu-v5'; known GPUs: a100-sxm-80gb, .*mi300x"):
        catalog.load_gpu("tpu-v5")


GPUS = ["a100-sxm-80gb", "h100-sxm", "h100-pcie", "h200-sxm", "b200", "gb200", "l40s", "mi300x"]


@pytest.mark.parametrize("name", GPUS)
def test_gpu_loads_and_is_sane(name: str) -> None:
    g = catalog.load_gpu(name)
    assert g.fp8_dense_tflops >= g.bf16_dense_tflops
    # fp8 is twice bf16 on every fp8 part; L40S datasheet: 362.05 bf16 vs 733 fp8 dense (2.02x)
    assert g.fp8_dense_tflops == pytest.approx(2 * g.bf16_dense_tflops, rel=0.02) or not g.fp8_native
    if g.fp4_dense_tflops is not None:
        assert g.fp4_dense_tflops == pytest.approx(2 * g.fp8_dense_tflops, rel=0.01)
    assert g.scale_up_bw_gb_per_s >= g.scale_out_bw_gb_per_s
    assert g.sources and all(s.startswith("https://") for s in g.sources)
    assert g.dense_tflops("fp4") >= g.dense_tflops("fp8") >= g.dense_tflops("bf16")


def test_gpu_topology_and_labels() -> None:
    assert catalog.load_gpu("gb200").nvlink_domain_gpus == 72
    assert catalog.load_gpu("gb200").topology_label_key == "nvidia.com/gpu.clique"
    assert catalog.load_gpu("h100-pcie").nvlink_domain_gpus == 2 and catalog.load_gpu("l40s").nvlink_domain_gpus == 1
    amd = catalog.load_gpu("mi300x")
    assert (amd.resource_name, amd.product_label_key) == ("amd.com/gpu", "amd.com/gpu.product-name")
    labels = {n: catalog.load_gpu(n).product_labels[0] for n in GPUS}
    assert labels["h100-sxm"] == "NVIDIA-H100-80GB-HBM3" and labels["a100-sxm-80gb"] == "NVIDIA-A100-SXM4-80GB"
    assert labels["h200-sxm"] == "NVIDIA-H200" and labels["h100-pcie"] == "NVIDIA-H100-PCIe"
    assert not catalog.load_gpu("a100-sxm-80gb").fp8_native


# ---- Hugging Face Hub adapter against a real HTTP server on loopback --------------------------------------------
class _Hub(http.server.BaseHTTPRequestHandler):
    config = {"architectures": ["Qwen3ForCausalLM"]}
    seen_auth: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        type(self).seen_auth.append(self.headers.get("Authorization"))
        if self.path == "/acme/open/resolve/main/config.json":
            body = json.dumps(self.config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/acme/gated/"):
            self.send_response(401)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hub_url():
    _Hub.config = dict(catalog.model_entry("Qwen/Qwen3-8B")["config"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_hub_fetch_and_load(hub_url: str) -> None:
    hub = hf_hub.hub_from_env({"HF_ENDPOINT": hub_url, "HF_TOKEN": "hf_secret"})
    m = catalog.load_model("acme/open", hub=hub)
    assert m.name == "acme/open" and m.total_params == catalog.load_model("Qwen/Qwen3-8B").total_params
    assert _Hub.seen_auth[-1] == "Bearer hf_secret"
    hf_hub.fetch_config("acme/open", endpoint=hub_url)
    assert _Hub.seen_auth[-1] is None


def test_hub_errors(hub_url: str) -> None:
    with pytest.raises(HubUnavailable, match=r"'acme/gated' is gated or private \(HTTP 401.*set HF_TOKEN"):
        hf_hub.fetch_config("acme/gated", endpoint=hub_url)
    with pytest.raises(UnknownModel, match=r"'acme/missing' has no config.json .*HTTP 404"):
        hf_hub.fetch_config("acme/missing", endpoint=hub_url)
    with pytest.raises(HubUnavailable, match="offline mode is on"):
        hf_hub.fetch_config("acme/open", endpoint=hub_url, offline=True)
    with pytest.raises(HubUnavailable, match="cannot reach http://127.0.0.1:9"):
        hf_hub.fetch_config("acme/open", endpoint="http://127.0.0.1:9", timeout_s=2)


def test_hub_offline_env() -> None:
    assert hf_hub.hub_from_env({"HF_HUB_OFFLINE": "1"}) is None
    assert hf_hub.hub_from_env({"TRANSFORMERS_OFFLINE": "true"}) is None
    assert "HF_HUB_OFFLINE=1" in hf_hub.offline_note({"HF_HUB_OFFLINE": "1"})
    assert hf_hub.hub_from_env({}) is not None
    with pytest.raises(UnknownModel, match="offline mode"):
        catalog.load_model("acme/open", hub=hf_hub.hub_from_env({"HF_HUB_OFFLINE": "1"}))


# ---- CLI -----------------------------------------------------------------------------------------------------------
def test_cli_catalog_tables_and_json() -> None:
    from disagg_pipelines.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["catalog", "models"])
    assert out.exit_code == 0, out.output
    assert "deepseek-ai/DeepSeek-V3" in out.output and "mla" in out.output and "KV KiB/tok bf16" in out.output
    data = json.loads(runner.invoke(cli, ["catalog", "models", "--json"]).output)
    row = next(r for r in data if r["id"] == "meta-llama/Llama-3.1-8B")
    assert row["kv_kib_per_token_bf16"] == 128 and row["total_params_b"] == 8.03
    out = runner.invoke(cli, ["catalog", "gpus"])
    assert out.exit_code == 0 and "gb200" in out.output and "NVLink domain" in out.output
    gpus = json.loads(runner.invoke(cli, ["catalog", "gpus", "--json"]).output)
    assert {g["name"] for g in gpus} >= set(GPUS)
