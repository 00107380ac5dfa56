"""The `:` prompt, k9s style: `:ns`, `:cache`, `:svc`, `:gpu` jump to a
view (with a namespace after them, in that namespace), `:ns NAME` switches
the namespace, `:ctx NAME` the kubeconfig context (`:ctx` alone lists them),
`:q` quits."""

from __future__ import annotations

from dataclasses import dataclass

VIEWS = {
    "ns": "namespaces",
    "namespace": "namespaces",
    "namespaces": "namespaces",
    "cache": "cache",
    "entries": "cache",
    "ce": "cache",
    "svc": "services",
    "services": "services",
    "isvc": "services",
    "inferenceservices": "services",
    "gpu": "gpus",
    "gpus": "gpus",
    "nodes": "gpus",
}
ALL_NAMESPACES = ("-A", "all")
CONTEXT = ("ctx", "context", "contexts")
QUIT = ("q", "q!", "quit")
HELP = ("help", "?")
# What the prompt suggests as one types.
COMMANDS = (":ns", ":cache", ":svc", ":gpu", ":ctx", ":help", ":q")


@dataclass(frozen=True)
class Command:
    verb: str  # "view", "namespace", "context", "quit" or "help"
    view: str = ""
    # The namespace to switch to; "" keeps the current one, None means all.
    namespace: str | None = ""
    context: str = ""


def parse_command(text: str) -> Command:
    """ValueError with a message the prompt can show for anything else."""
    words = text.strip().removeprefix(":").split()
    if not words:
        raise ValueError("empty command: try :ns, :cache, :svc, :gpu or :ctx [NAME]")
    verb, args = words[0].lower(), words[1:]
    if len(args) > 1:
        raise ValueError(f":{verb} takes one argument at most, got {' '.join(args)}")
    arg = args[0] if args else ""
    if verb in VIEWS:
        namespace: str | None = None if arg in ALL_NAMESPACES else arg
        if VIEWS[verb] == "namespaces" and arg:
            # `:ns NAME` switches the namespace and keeps the view.
            return Command("namespace", namespace=namespace)
        return Command("view", view=VIEWS[verb], namespace=namespace)
    if verb in CONTEXT:
        # Without a name, a list of the kubeconfig's contexts to pick from.
        return Command("context", context=arg)
    if verb in QUIT and not arg:
        return Command("quit")
    if verb in HELP and not arg:
        return Command("help")
    raise ValueError(f"unknown command :{verb} (try :ns, :cache, :svc, :gpu, :ctx [NAME], :q)")
