"""`assistant chat`: a conversation in the terminal, saved to the same history as the app."""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import replace

from assistant.chat.dispatch import CLI_EMBED_WAIT_S, SendPolicy, run_cloud_turn
from assistant.chat.store import ChatStore
from assistant.chat.turn import run_turn
from assistant.cli import checks
from assistant.cli.cloud import choose_target
from assistant.cli.common import (
    apply_overrides,
    ctrl_c_stops,
    cut_off_note,
    load_engine,
    pick_model,
    print_text,
    print_thinking,
    title_from,
)
from assistant.errors import AssistantError
from assistant.paths import Paths
from assistant.settings import Settings

CHAT_HELP = "Type a message and press Enter. Ctrl-C stops an answer; /new starts a new chat; /quit or Ctrl-D leaves."


def run_chat(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    params = apply_overrides(args, settings)
    model = pick_model(args.model, paths, settings)
    system = args.system if args.system is not None else settings.system_prompt
    engine = load_engine(model, settings)
    with ChatStore.open(paths.history_db) as store:
        policy = SendPolicy(store, settings, embed_wait_s=CLI_EMBED_WAIT_S)
        if args.conversation:
            conv = store.get_conversation(args.conversation)
            if conv is None:
                raise AssistantError(f"No conversation with id {args.conversation}.")
            for m in store.messages(conv.id):
                print(f"{'you' if m.role == 'user' else 'assistant'}> {m.content}")
        else:
            conv = None
        print(f"Chatting with {model.display_name}. {CHAT_HELP}", file=sys.stderr)
        checks.tolerant_stdin()
        while True:
            try:
                text = checks.clean_text(input("you> "), "message")
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if not text.strip():
                continue
            if text.strip() in ("/quit", "/exit"):
                break
            if text.strip() == "/new":
                conv = None
                print("(new chat)", file=sys.stderr)
                continue
            if conv is None:
                conv = store.create_conversation(title=title_from(text), system_prompt=system, model=model.display_name)
            cancel = threading.Event()
            target = choose_target(policy, text, conv.id, model, explicit_cloud=False, mode=args.route, yes=args.yes)
            sys.stdout.write("assistant> " if target == "local" else f"{settings.cloud.model}> ")
            with ctrl_c_stops(cancel):
                if target == "cloud":
                    result = run_cloud_turn(store, replace(settings.cloud), conv.id, user_text=text, system_prompt=system,
                                            params=params, cancel=cancel, on_text=print_text, config_dir=paths.config_dir,
                                        on_thinking=print_thinking)
                else:
                    result = run_turn(
                        store, engine, conv.id, system_prompt=system, params=params, cancel=cancel,
                        model_name=model.display_name, user_text=text, on_text=print_text, on_thinking=print_thinking,
                    )
            print()
            if result.error is not None:
                print(f"Error: {result.error}", file=sys.stderr)
            elif result.status == "stopped":
                print("[stopped]", file=sys.stderr)
            elif note := cut_off_note(result):
                print(note, file=sys.stderr)
    engine.unload()
    return 0
