"""``python -m sandbox run --state-dir DIR [--port N]``."""

import argparse
import sys

from sandbox.server import run


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="serve the sandbox until SIGTERM/SIGINT")
    run_p.add_argument("--state-dir", required=True)
    run_p.add_argument("--port", type=int, default=0,
                       help="0 = reuse the state dir's port if free, else any free port")
    run_p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    run_p.add_argument("--exit-with-parent", action="store_true",
                       help="stop when the starting process dies (used by SandboxProcess)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.state_dir, args.port, verbose=args.verbose,
                   exit_with_parent=args.exit_with_parent)
    return 2


if __name__ == "__main__":
    sys.exit(main())
