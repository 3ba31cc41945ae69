"""The two comparisons benchmarks/embed.py publishes: a small one and a big one.

The big one is the largest a publisher is likely to write: 4 items and 12 reviewers,
each with a quote of several sentences on every item (48 quotes of 400 to 800
characters, like the ones on the seed comparison page).
"""

from __future__ import annotations

from pathlib import Path

from vswidget import Comparison, Item, Newsletter, Reviewer, Verdict

ROOT = Path(__file__).resolve().parent.parent


def small() -> Comparison:
    """Return the 2-item, 4-reviewer example comparison shipped in examples/."""
    return Comparison.from_file(ROOT / "examples" / "comparisons" / "sqlite-vs-postgresql.yaml")


ITEMS = [
    Item(
        key="ollama",
        name="Ollama",
        category="Developer Tools",
        tagline="One command to pull and serve open models from your terminal",
        description=(
            "Ollama wraps llama.cpp in a small background service with a model library, a REST "
            "API and a Modelfile format for custom system prompts and parameters. It runs on "
            "macOS, Linux and Windows, and most editors, agent frameworks and chat front ends "
            "can talk to it without any extra configuration."
        ),
        price="Free (MIT)",
        url="https://ollama.com/",
    ),
    Item(
        key="lm-studio",
        name="LM Studio",
        category="Desktop Apps",
        tagline="A polished desktop app for finding, chatting with and serving local models",
        description=(
            "LM Studio bundles a model browser, a chat window with presets and an "
            "OpenAI-compatible local server in one desktop application. It runs GGUF models "
            "everywhere and MLX models on Apple silicon, and it tells you how much memory a "
            "model will need before you spend an hour downloading it."
        ),
        price="Free for personal and work use",
        url="https://lmstudio.ai/",
    ),
    Item(
        key="llama-cpp",
        name="llama.cpp",
        category="Inference Engines",
        tagline="The C/C++ engine underneath most local runners, with its own HTTP server",
        description=(
            "llama.cpp is the reference implementation of GGUF inference: plain C and C++ with "
            "back ends for CPUs, CUDA, Metal, Vulkan and ROCm. Its llama-server binary offers an "
            "OpenAI-compatible API with continuous batching, grammar-constrained output and "
            "speculative decoding, and new model architectures usually land here first."
        ),
        price="Free (MIT)",
        url="https://github.com/ggml-org/llama.cpp",
    ),
    Item(
        key="vllm",
        name="vLLM",
        category="Serving Frameworks",
        tagline="High-throughput GPU serving with paged attention and continuous batching",
        description=(
            "vLLM is a Python serving engine built for data-centre GPUs. PagedAttention keeps "
            "the key-value cache compact, so many concurrent requests share one card, and it "
            "supports tensor and pipeline parallelism, quantized weights, LoRA adapters and an "
            "OpenAI-compatible server with structured output."
        ),
        price="Free (Apache 2.0)",
        url="https://docs.vllm.ai/",
    ),
]

# Sentences about each item, from which each reviewer's quotes draw in turn.
FACTS = {
    "ollama": [
        "`ollama run` pulls a quantized model and drops you into a chat in under a minute, and "
        "the same daemon answers on port 11434 for every tool on the machine.",
        "Modelfiles let a team pin a base model, a system prompt and sampling parameters in a "
        "file that lives in the repository next to the code that uses it.",
        "It keeps models resident and unloads them after five idle minutes, which is exactly "
        "right on a laptop and surprising on a shared box when the first request stalls.",
        "Concurrency is there but modest: parallel requests share one loaded model, and "
        "throughput under real load falls well short of a dedicated serving engine.",
        "The model library hides the GGUF file names and quantization choices, which is "
        "friendly until you need to know exactly which weights you are running.",
        "Upgrades have been uneventful for us over a year, and the API has stayed compatible "
        "enough that nothing downstream broke.",
    ],
    "lm-studio": [
        "The memory estimate before download is the single most useful screen in this whole "
        "category; it saves newcomers from a 40 GB mistake on a 16 GB machine.",
        "Its local server speaks the OpenAI API, so switching a prototype from a hosted model "
        "to a local one is a change of base URL and nothing else.",
        "On Apple silicon the MLX back end is noticeably faster than GGUF for the same model, "
        "and LM Studio is the easiest way to get it without touching Python.",
        "It is a desktop application first: running it headless on a server is possible with "
        "the lms command, but it is not what the product is shaped around.",
        "The licence is free for work use now, but it is not open source, and some teams will "
        "not install a closed binary that downloads models on their behalf.",
        "Presets, chat history and side-by-side model comparison make it the best place to "
        "decide which model you want before you automate anything.",
    ],
    "llama-cpp": [
        "New architectures and quantization formats usually work here days or weeks before "
        "they reach any of the friendlier tools built on top of it.",
        "llama-server does continuous batching, grammar-constrained JSON output and "
        "speculative decoding, which covers most of what a small production service needs.",
        "You build it yourself or pick the right prebuilt binary for your GPU, and choosing "
        "flags for context size, GPU layers and threads is on you.",
        "It runs on almost anything: a Raspberry Pi, a CPU-only VM, a gaming card or a Mac, "
        "with the same command line and the same API.",
        "The project moves fast and flags get renamed; pin a release and read the changelog "
        "before upgrading a machine other people depend on.",
        "Memory use is predictable and the process is a single binary with no runtime, which "
        "makes it easy to put in a container of a few hundred megabytes.",
    ],
    "vllm": [
        "On a data-centre GPU with dozens of concurrent users its throughput is in a different "
        "league from the laptop-first tools, thanks to paged attention and batching.",
        "It wants a recent NVIDIA or AMD GPU and a matching CUDA or ROCm stack; on a laptop or "
        "a CPU-only machine it is simply the wrong tool.",
        "Start-up takes a minute or more while it loads weights and captures CUDA graphs, so "
        "autoscaling from zero needs planning.",
        "Tensor parallelism across several cards, LoRA adapters served side by side and "
        "prefix caching are all first-class, which is what a platform team asks for.",
        "The Python dependency tree is large and tied to specific PyTorch and CUDA versions, "
        "so most teams run the official container and never pip install it by hand.",
        "Its metrics endpoint and OpenAI-compatible server drop straight into an existing "
        "Prometheus and gateway setup.",
    ],
}

# Who is on the panel, how they open a quote, and their verdicts on ollama, lm-studio,
# llama-cpp and vllm, in that order.
PANEL = [
    (
        "The Maintainer",
        "Will it still work in a year?",
        "I care about what breaks on upgrade.",
        "ship ship ship skip",
    ),
    (
        "The Newcomer",
        "First hour with local models",
        "My test is whether I get a useful answer before I lose interest.",
        "ship ship skip skip",
    ),
    (
        "The Platform Engineer",
        "Running it for a whole company",
        "I judge these as something a hundred colleagues will lean on.",
        "skip skip ship ship",
    ),
    (
        "The Privacy Officer",
        "Where prompts and weights go",
        "Nothing a user types may leave the machine, and I want to know what the tool downloads.",
        "ship skip ship ship",
    ),
    (
        "The Laptop Developer",
        "A 16 GB MacBook and a deadline",
        "It has to run beside an IDE, a browser and a container runtime without swapping.",
        "ship ship ship skip",
    ),
    (
        "The Cost Accountant",
        "Total cost against a hosted API",
        "I compare every option with simply paying per token for a hosted model.",
        "ship ship ship ship",
    ),
    (
        "The Researcher",
        "Trying this week's model on day one",
        "I need new architectures and odd quantizations to work the week they are released.",
        "skip skip ship ship",
    ),
    (
        "The Agent Builder",
        "Tool calls, JSON and long contexts",
        "My agents fail on malformed JSON and truncated context, not on raw speed.",
        "ship skip ship ship",
    ),
    (
        "The Security Reviewer",
        "Attack surface and supply chain",
        "I read what listens on which port and who signs the binaries.",
        "skip skip ship ship",
    ),
    (
        "The Educator",
        "Teaching a room of thirty students",
        "Thirty mixed laptops, one afternoon, and nobody may be left behind at step one.",
        "ship ship skip skip",
    ),
    (
        "The SRE",
        "Pager duty at 3 a.m.",
        "I want metrics, predictable memory and a clean restart.",
        "skip skip ship ship",
    ),
    (
        "The Hobbyist",
        "A gaming PC and a free weekend",
        "I want the most model for my graphics card with the least yak shaving.",
        "ship ship ship skip",
    ),
]

CLOSERS = {
    "ship": [
        "For that job it earns the ship without much argument.",
        "That is enough for me to recommend it today.",
        "I would put it in front of my team on Monday.",
        "Ship it, and revisit in six months.",
    ],
    "skip": [
        "For my lens that is a skip, even if others will love it.",
        "Good software, wrong fit for this job; skip.",
        "I would not make it the default, so it gets a skip from me.",
        "Skip for now; the gap may close, but not this quarter.",
    ],
}


def big() -> Comparison:
    """Return the big comparison: 4 items, 12 reviewers with long quotes, a newsletter."""
    panel = []
    for number, (name, lens, opener, verdicts) in enumerate(PANEL):
        chosen = {}
        for position, (item, verdict) in enumerate(zip(ITEMS, verdicts.split(), strict=True)):
            facts = FACTS[item.key]
            picked = [facts[(number + step + position) % len(facts)] for step in (0, 2, 3)]
            closer = CLOSERS[verdict][(number + position) % len(CLOSERS[verdict])]
            quote = f"{opener} {' '.join(picked)} {closer}"
            chosen[item.key] = Verdict.ship(quote) if verdict == "ship" else Verdict.skip(quote)
        panel.append(Reviewer(name=name, lens=lens, verdicts=chosen))
    return Comparison(
        slug="ollama-vs-lm-studio-vs-llama-cpp-vs-vllm",
        kicker="Local AI tools",
        title="Ollama vs LM Studio vs llama.cpp vs vLLM",
        question="Which model runner should your team standardize on?",
        items=ITEMS,
        panel=panel,
        cta=Newsletter(
            headline="Weekly AI Tool Verdicts",
            text="Get the next head-to-head in your inbox, with the panel's split.",
            label="Subscribe",
        ),
    )
