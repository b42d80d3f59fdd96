"""`assistant serve`: the local API server without the window (assistant/server/)."""

from __future__ import annotations

import argparse
import sys

from assistant.errors import AssistantError
from assistant.library.installed import resolve_model
from assistant.paths import Paths
from assistant.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="answer OpenAI- and Anthropic-compatible API requests with your models")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this computer only; "
                                  "0.0.0.0: the local network too)")
    p.add_argument("--port", type=int, help="port (default: Settings → Server, 8765; 0: any free port)")
    p.add_argument("--model", help="load this model (path or installed model's name) at start")
    p.add_argument("--token", help="the token clients must send (default: the one in the keyring, made once)")
    p.add_argument("--show-token", action="store_true", help="print the keyring's token and exit")
    p.add_argument("--parallel", type=int, help="answers decoded at once (default: Settings → Server, 4)")
    p.add_argument("--queue", type=int, help="requests that may wait for a slot; more get 429 (default 16)")
    p.add_argument("--idle-unload", type=float, metavar="MINUTES",
                   help="unload a model loaded for requests after this long without one (default 10; 0: never)")


def run_serve(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant import network
    from assistant.server import auth
    from assistant.server.runner import ALL_INTERFACES, LAN_WARNING, LOOPBACK, ApiServer, ServerConfig, is_loopback

    if args.show_token:
        print(auth.get_or_create_token())
        return 0
    host = args.host or (ALL_INTERFACES if settings.server.local_network else LOOPBACK)
    port = settings.server.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise AssistantError(f"--port {port} is not a port number.", "Use 1 to 65535, or 0 for any free port.")
    if not is_loopback(host) and network.is_offline():
        raise AssistantError(
            "Offline mode is on: the API server does not listen on the network.",
            "Serve on 127.0.0.1 (this computer only), or turn Offline mode off in Settings.",
        )
    for name, low in (("parallel", 1), ("queue", 0), ("idle_unload", 0)):
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise AssistantError(f"--{name.replace('_', '-')} {value} is too small.", f"Use {low} or more.")
    if args.parallel is not None:
        settings.server.parallel = args.parallel
    if args.queue is not None:
        settings.server.queue = args.queue
    if args.idle_unload is not None:
        settings.server.idle_unload_minutes = args.idle_unload
    token = args.token.strip() if args.token else auth.get_or_create_token()
    if not token:
        raise AssistantError("The --token is empty.", "Pass a token, or leave --token out to use the keyring's.")
    model = resolve_model(args.model, paths.models_dir) if args.model else None
    server = ApiServer(ServerConfig(host, port, model), settings, paths.models_dir, token)
    server.bind()
    if not is_loopback(host):
        print(f"Warning: {LAN_WARNING}", file=sys.stderr)
    if model is not None:
        print(f"Loading {model.display_name}...", file=sys.stderr)
    where = "the token you gave" if args.token else "the token from `assistant serve --show-token`"
    print(f"Listening on {server.url} (send {where}). Ctrl-C stops.", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0
