"""Tools in the terminal: `assistant ask --tools` lets the model call the MCP servers of
mcp.json, each call asked at the prompt (the tool, its server, the exact arguments) or
allowed for scripts with `--yes`; `assistant tools` lists the servers and their tools,
imports servers from Claude Desktop, Cursor and LM Studio, and shows or revokes the
tools that are always allowed."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from assistant.core.types import ToolCall
from assistant.paths import Paths
from assistant.settings import Settings, save_settings
from assistant.tools.approval import ApprovalPolicy, ApprovalRequest, Approver, Decision, approve_all, terminal_approver
from assistant.tools.loop import ToolRecord, ToolSession
from assistant.tools.manager import McpTools
from assistant.tools.mcp_config import import_sources, load_config, merge_servers, read_source, save_config
from assistant.tools.registry import EnabledTools, qualified_name
from assistant.tools.toolbox import ChatTools

ARG_PREVIEW = 200


def add_ask_args(ask: argparse.ArgumentParser) -> None:
    ask.add_argument("--tools", nargs="?", const="*", metavar="SERVERS",
                     help="let the model call the tools of your MCP servers (mcp.json): all of them, "
                          "or the comma-separated SERVERS; each call is asked first (--yes allows them all)")
    ask.add_argument("--max-tool-rounds", type=int, metavar="N", help="rounds of tool calls in one answer (default: the app's setting)")
    ask.add_argument("--tool-choice", metavar="CHOICE", default="auto",
                     help="auto (the model decides), required (it must call a tool first), or a tool's name "
                          "(as `assistant tools list` shows it: SERVER__TOOL)")


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser("tools", help="MCP servers and their tools (mcp.json)").add_subparsers(dest="tools_command", required=True)
    cmd.add_parser("list", help="the servers of mcp.json and the tools each offers (starts them)")
    imp = cmd.add_parser("import", help="add the MCP servers of Claude Desktop, Cursor or LM Studio")
    imp.add_argument("app", nargs="?", help="claude, cursor or lmstudio (default: list what can be imported)")
    cmd.add_parser("allowed", help="the tools whose calls run without asking")
    rev = cmd.add_parser("revoke", help="ask again before this tool's calls")
    rev.add_argument("server")
    rev.add_argument("tool")


@dataclass
class TerminalTools:
    session: ToolSession
    mcp: McpTools

    def close(self) -> None:
        self.mcp.close()


def _policy(settings: Settings, paths: Paths) -> ApprovalPolicy:
    return ApprovalPolicy(settings, lambda: save_settings(settings, paths.settings_file))


def _no_terminal(request: ApprovalRequest) -> Decision:
    print(f"Not run: {request.tool} ({request.server}) needs your approval and there is no terminal to ask; "
          "pass --yes to allow tool calls in a script.", file=sys.stderr)
    return Decision.DENY


def session_for(args: argparse.Namespace, paths: Paths, settings: Settings) -> TerminalTools:
    """The tools `ask --tools` offers the model, their servers started and listed now."""
    mcp = McpTools(load_config(), _policy(settings, paths), settings.tools)
    names = list(mcp.servers) if args.tools == "*" else [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in mcp.servers]
    if unknown:
        mcp.close()
        from assistant.errors import ToolError

        have = ", ".join(mcp.servers) or "none yet"
        raise ToolError(f"There is no MCP server called {unknown[0]!r} in mcp.json (servers: {have}).",
                        "Add it with `assistant tools import`, or edit mcp.json in the app's config folder.")
    for name, problem in mcp.refresh(names).items():
        print(f"Tools of {name} are not available: {problem}", file=sys.stderr)
    approver: Approver = approve_all if args.yes else (
        terminal_approver(sys.stdin, sys.stderr) if sys.stdin.isatty() else _no_terminal)
    box = ChatTools(mcp, EnabledTools(servers=set(names)))
    rounds = args.max_tool_rounds or settings.tools.max_rounds
    choice = args.tool_choice
    if choice not in ("auto", "required", "none") and box.info(choice) is None:
        mcp.close()
        from assistant.errors import ToolError

        raise ToolError(f"--tool-choice {choice!r} is not one of the tools switched on.",
                        "Use auto, required, or a name from `assistant tools list` (SERVER__TOOL).")
    session = ToolSession(box, box.approval(mcp.policy, approver), max_rounds=rounds, tool_choice=choice,
                          on_call=_print_call)
    return TerminalTools(session, mcp)


def _print_call(call: ToolCall, record: ToolRecord | None) -> None:
    if record is None:
        args = call.arguments if len(call.arguments) <= ARG_PREVIEW else call.arguments[:ARG_PREVIEW] + "…"
        print(f"\n[tool] {call.name} {args}", file=sys.stderr)
        return
    result = record.result.strip().replace("\n", " ")
    result = result if len(result) <= ARG_PREVIEW else result[:ARG_PREVIEW] + "…"
    print(f"[tool] {record.status} in {record.seconds:.1f} s: {result}", file=sys.stderr)


def run_tools(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    c = args.tools_command
    policy = _policy(settings, paths)
    if c == "list":
        mcp = McpTools(load_config(), policy, settings.tools)
        try:
            if not mcp.servers:
                print("No MCP servers yet: add some with `assistant tools import`, or in mcp.json.")
                return 0
            problems = mcp.refresh()
            for name, running in mcp.servers.items():
                print(f"{name}  ({running.config.describe()})")
                if name in problems:
                    print(f"  not available: {problems[name]}")
                for t in [t for t in mcp.registry.tools() if t.server == name]:
                    always = "  [always allowed]" if policy.is_always_allowed(name, t.name) else ""
                    what = t.description.splitlines()[0] if t.description else ""
                    print(f"  {qualified_name(t.server, t.name)}: {what}{always}")
        finally:
            mcp.close()
        return 0
    if c == "import":
        sources = import_sources()
        if not args.app:
            if not sources:
                print("No other app's MCP servers were found (Claude Desktop, Cursor, LM Studio).")
            for s in sources:
                print(f"{s.app}: {s.path}  (assistant tools import {s.suffix})")
            return 0
        wanted = args.app.lower().replace(" ", "")
        chosen = [s for s in sources if wanted in (s.app.lower().replace(" ", ""), s.suffix)]
        if not chosen:
            print(f"Nothing to import from {args.app!r}. Found: {', '.join(s.app for s in sources) or 'none'}.", file=sys.stderr)
            return 1
        incoming = read_source(chosen[0])
        config = load_config()
        merged = merge_servers(config, incoming.servers, list(incoming.servers), chosen[0].suffix)
        save_config(config)
        for added in merged.added:
            print(f"Added {added}")
        for old, new in merged.renamed.items():
            print(f"Added {old} as {new} (a different server of that name was here)")
        return 0
    if c == "allowed":
        for server, tool in policy.always_allowed():
            print(f"{server} {tool}")
        return 0
    if c == "revoke":
        if policy.revoke(args.server, args.tool):
            print(f"{args.tool} ({args.server}) will ask again before each call.")
            return 0
        print(f"{args.tool} ({args.server}) was not always allowed.", file=sys.stderr)
        return 1
    return 1


