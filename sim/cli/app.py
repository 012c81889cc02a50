"""The `cxm app` subcommand: serve the classroom page (`sim.classroom.page`).

`cxm app [SCENARIO.yaml] [--host 127.0.0.1] [--port 8765]` checks the scenario (the same
one-line error and exit status 2 as every command, before anything starts), checks that the
address can be bound, and serves the page with Solara's server (uvicorn) until interrupted.
It binds to the loopback address unless told otherwise: ``--host 0.0.0.0`` opens the page to
everyone on the network (a classroom), with no login; anyone who can reach the port can use
the page and run simulations on this machine (docs/teaching.md). Solara's usage telemetry is
off, and the page loads its scripts from the installed ``solara-assets`` package, so it
works with no internet.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from pathlib import Path

from sim.errors import CXMError

DEFAULT_HOST = "127.0.0.1"
"""The address the page binds to by default: this machine only."""
DEFAULT_PORT = 8765
"""The page's default port."""
PAGE_MODULE = "sim.classroom.page"
"""The module whose `Page` component Solara serves."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the app subcommand to `cxm`'s subparsers."""
    parser = subparsers.add_parser(
        "app",
        help="serve the classroom page (sliders, live charts, network, journeys)",
        description="Serve the interactive classroom page in a browser: levers in CX words, "
        "step / run / reset, live charts with a 95%% band over replications, the word-of-mouth "
        "network, one customer's journey, a comparison with the scenario as written, and "
        "scenario loading and export. Stop it with Ctrl-C.",
        epilog="It binds to 127.0.0.1 (this machine only) unless --host says otherwise. "
        "--host 0.0.0.0 lets every machine on the network open the page, with no password: "
        "use it only on a classroom network you trust (docs/teaching.md).",
    )
    parser.add_argument(
        "scenario",
        type=Path,
        nargs="?",
        help="scenario YAML file the page opens with (default scenarios/baseline.yaml)",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Check the scenario and the address, then serve the page until interrupted."""
    from sim.classroom.model import DEFAULT_SCENARIO, Classroom

    scenario = Path(args.scenario) if args.scenario is not None else DEFAULT_SCENARIO
    if not 0 < args.port < 65536:
        raise CXMError(f"--port: got {args.port}; allowed: 1 to 65535")
    Classroom(str(scenario.resolve()))  # the page's first model: same checks, same message
    check_address(args.host, args.port)
    os.environ["CXM_APP_SCENARIO"] = str(scenario.resolve())
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host}: every machine that reaches this address can use "
            "the page (no password); use it on a classroom network you trust",
            file=sys.stderr,
        )
    serve(args.host, args.port)
    return 0


def serve(host: str, port: int) -> None:
    """Serve the page at http://host:port until interrupted (Solara's server, production
    mode, telemetry off)."""
    os.environ["SOLARA_APP"] = PAGE_MODULE
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_THEME_LOADER", "plain")
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    print(f"Classroom page at http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    config = uvicorn.Config(
        "solara.server.starlette:app", host=host, port=port, log_level="warning"
    )
    uvicorn.Server(config).run()


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback address (only this machine reaches it)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_address(host: str, port: int) -> None:
    """Refuse an address that cannot be bound (in use, or not this machine's), in one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CXMError(
            f"--host: got {host!r}; not an address of this machine ({exc.strerror})"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CXMError(
                f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
                "choose another --port"
            ) from None
