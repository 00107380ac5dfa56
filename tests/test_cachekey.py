import hashlib

from llmkube_tui.cachekey import cache_key, is_cache_key, model_path

URL = (
    "https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/main/llama-2-7b-chat.Q4_K_M.gguf"
)


def test_key_is_first_16_hex_of_sha256_of_raw_source():
    assert cache_key(URL) == hashlib.sha256(URL.encode()).hexdigest()[:16]
    assert is_cache_key(cache_key(URL))


def test_no_normalisation_two_spellings_two_keys():
    # LLMKube hashes the raw string; so must we, or the tools miss each other.
    assert cache_key(URL) != cache_key(URL + "?download=true")
    assert cache_key(URL) != cache_key(URL.replace("https", "HTTPS"))


def test_model_path_under_mount():
    assert model_path(URL) == f"/models/{cache_key(URL)}/model.gguf"
    assert model_path(URL, "/cache/") == f"/cache/{cache_key(URL)}/model.gguf"


def test_is_cache_key_rejects_other_text():
    assert not is_cache_key("../etc/passwd")
    assert not is_cache_key("ABCDEF0123456789")
    assert not is_cache_key("0123")
