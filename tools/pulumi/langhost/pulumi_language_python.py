"""A small Pulumi language host for Python programs (``pulumi-language-python``).

Why this exists: the official Python language host is a Go program that lives in its
own Go module (``github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3``),
and the Go module proxy this project can reach refuses every version of that module.
The CLI itself (``github.com/pulumi/pulumi/pkg/v3/cmd/pulumi``) *is* served, so
``scripts/bootstrap-pulumi`` builds the real engine and installs this host beside it.

The engine talks to a language host over the ``pulumirpc.LanguageRuntime`` gRPC
service (its Python stubs ship in the ``pulumi`` wheel).  The contract:

* the engine starts ``pulumi-language-python [flags] <engine-address>`` in the
  program directory and reads one line from stdout: the port we listen on;
* everything written to stdout/stderr afterwards is shown as program output;
* ``Run`` executes the user's program: like the official host we start
  ``<python> -u pulumi-language-python-exec --monitor ... PROGRAM`` (the exec script
  is copied from the ``sdk/v3`` Go module of the same Pulumi version) with the stack
  configuration in ``PULUMI_CONFIG`` / ``PULUMI_CONFIG_SECRET_KEYS``.

The interpreter is chosen as the official host does for ``toolchain: pip``: the
``virtualenv`` runtime option of Pulumi.yaml (relative paths are resolved against the
project root), otherwise ``$PULUMI_PYTHON_CMD`` or ``python3`` from PATH.

Deliberately not implemented (they answer UNIMPLEMENTED, which the engine tolerates or
which only matters for commands this project does not use): code generation
(GenerateProgram/GenerateProject/GeneratePackage), Pack, Link, Template, RunPlugin.
``GetRequiredPackages`` reports no packages: the only plugin this project needs is the
dynamic-provider launcher ``pulumi-resource-pulumi-python``, which is installed beside
the CLI, and reporting nothing keeps the engine from trying to download plugins.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

# Version reported to the engine (GetPluginInfo/About).  bootstrap-pulumi passes the
# version of the CLI it installed with --version.
DEFAULT_VERSION = "3.259.0"

# Exit code the exec script uses to say "an error was already shown to the user".
USER_ACTIONABLE_EXIT_CODE = 32

MAX_MESSAGE_BYTES = 400 * 1024 * 1024


class HostError(Exception):
    """An error whose message is meant for the user."""


def _options(info: language_pb2.ProgramInfo | None) -> dict[str, Any]:
    if info is None or not info.HasField("options"):
        return {}
    return json_format.MessageToDict(info.options)


def _venv_bin(venv: str) -> str:
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin")


class PythonLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine_address: str, exec_script: str, version: str) -> None:
        self.engine_address = engine_address
        self.exec_script = exec_script
        self.version = version
        self.root_directory: str | None = None
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- interpreter selection -------------------------------------------------

    def _root_dir(self, info: language_pb2.ProgramInfo | None) -> str:
        if info is not None and info.root_directory:
            return info.root_directory
        return self.root_directory or os.getcwd()

    def _virtualenv(self, info: language_pb2.ProgramInfo | None) -> str | None:
        opts = _options(info)
        toolchain = str(opts.get("toolchain") or "pip")
        venv = opts.get("virtualenv")
        if toolchain == "uv" and not venv:
            venv = ".venv"
        if toolchain not in ("pip", "uv"):
            raise HostError(
                f"toolchain {toolchain!r} is not supported by this project's language host "
                "(tools/pulumi/langhost); use 'pip' with a 'virtualenv' option"
            )
        if not venv:
            return None
        venv = str(venv)
        if not os.path.isabs(venv):
            venv = os.path.join(self._root_dir(info), venv)
        return os.path.normpath(venv)

    def _python(self, info: language_pb2.ProgramInfo | None) -> tuple[list[str], dict[str, str]]:
        """Return (python command, environment) to run the program with."""
        env = dict(os.environ)
        venv = self._virtualenv(info)
        if venv is None:
            cmd = os.environ.get("PULUMI_PYTHON_CMD") or "python3"
            found = shutil.which(cmd)
            if found is None:
                raise HostError(f"Failed to locate '{cmd}' on your PATH")
            return [found], env
        python = os.path.join(_venv_bin(venv), "python")
        if not os.path.isfile(python):
            what = (
                "doesn't appear to be a virtual environment"
                if os.path.isdir(venv)
                else "doesn't exist"
            )
            raise HostError(
                f"The 'virtualenv' option in Pulumi.yaml is set to {venv!r}, but it {what}. "
                "Create it first (for this repository: scripts/setup, which "
                "installs requirements/dev.txt)."
            )
        env["VIRTUAL_ENV"] = venv
        env["PATH"] = _venv_bin(venv) + os.pathsep + env.get("PATH", "")
        env.pop("PYTHONHOME", None)
        return [python], env

    def _spawn(self, argv: list[str], **kwargs: Any) -> int:
        proc = subprocess.Popen(argv, **kwargs)  # noqa: S603 - argv is built by us
        with self._lock:
            self._children.add(proc)
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._children.discard(proc)

    def terminate_children(self) -> None:
        with self._lock:
            children = list(self._children)
        for proc in children:
            if proc.poll() is None:
                proc.terminate()

    # -- LanguageRuntime --------------------------------------------------------

    def Handshake(self, request, context):
        if request.engine_address:
            self.engine_address = request.engine_address
        if request.root_directory:
            self.root_directory = request.root_directory
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.version)

    def GetRequiredPlugins(self, request, context):
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse()

    def RuntimeOptionsPrompts(self, request, context):
        return language_pb2.RuntimeOptionsResponse()

    def Run(self, request, context):
        info = request.info if request.HasField("info") else None
        try:
            python, env = self._python(info)
        except HostError as exc:
            return language_pb2.RunResponse(error=str(exc))

        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))

        args = [*python, "-u", self.exec_script]

        def add(flag: str, value: str) -> None:
            if value:
                args.extend([f"--{flag}", value])

        add("monitor", request.monitor_address)
        add("engine", self.engine_address)
        add("project", request.project)
        add("stack", request.stack)
        add("pwd", request.pwd)
        add("root_directory", info.root_directory if info is not None else "")
        add("organization", request.organization)
        if request.dryRun:
            args.extend(["--dry_run", "true"])
        args.extend(["--parallel", str(request.parallel)])
        args.append(request.program or ".")
        args.extend(request.args)

        cwd = request.pwd or (info.program_directory if info is not None else None) or None
        try:
            code = self._spawn(args, env=env, cwd=cwd)
        except OSError as exc:
            return language_pb2.RunResponse(error=f"failed to start {args[0]}: {exc}")
        if code == 0:
            return language_pb2.RunResponse()
        if code == USER_ACTIONABLE_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            return language_pb2.RunResponse(error=f"Program exited due to signal {-code}")
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

    def InstallDependencies(self, request, context) -> Iterator[Any]:
        # Nothing is installed from here: this project's virtualenv is created by its own
        # setup (scripts/setup, from requirements/dev.txt), and nothing may wait on the network.
        info = request.info if request.HasField("info") else None
        try:
            python, _ = self._python(info)
        except HostError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        msg = f"Using {python[0]}; dependencies are managed by the project, nothing to install.\n"
        yield language_pb2.InstallDependenciesResponse(stdout=msg.encode())

    def About(self, request, context):
        info = request.info if request.HasField("info") else None
        try:
            python, env = self._python(info)
            out = subprocess.run(  # noqa: S603
                [*python, "-c", "import platform; print(platform.python_version())"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout.strip()
        except (HostError, OSError, subprocess.SubprocessError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return language_pb2.AboutResponse(
            executable=python[0], version=out, metadata={"langhost": "applivery-pulumi"}
        )

    def GetProgramDependencies(self, request, context):
        info = request.info if request.HasField("info") else None
        script = (
            "import importlib.metadata as m, json\n"
            "print(json.dumps(sorted({(d.metadata['Name'] or '', d.version) "
            "for d in m.distributions()})))"
        )
        try:
            python, env = self._python(info)
            out = subprocess.run(  # noqa: S603
                [*python, "-c", script],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
        except (HostError, OSError, subprocess.SubprocessError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        deps = [
            language_pb2.DependencyInfo(name=name, version=version)
            for name, version in json.loads(out)
            if name
        ]
        return language_pb2.GetProgramDependenciesResponse(dependencies=deps)

    def Cancel(self, request, context):
        self.terminate_children()
        return empty_pb2.Empty()


def _parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="pulumi-language-python", allow_abbrev=False)
    ap.add_argument(
        "--exec", dest="exec_script", required=True, help="path of pulumi-language-python-exec"
    )
    ap.add_argument("--version", default=DEFAULT_VERSION, help="version to report")
    ap.add_argument("engine_address", nargs="?", default="")
    # Flags the engine may pass in Go style (-tracing X, -root X, -v=N, --logtostderr ...).
    args, rest = ap.parse_known_args(argv)
    positional = [a for a in rest if not a.startswith("-")]
    if positional and not args.engine_address:
        args.engine_address = positional[-1]
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isfile(args.exec_script):
        print(f"pulumi-language-python: exec script {args.exec_script} not found", file=sys.stderr)
        return 1

    host = PythonLanguageHost(args.engine_address, args.exec_script, args.version)
    opts = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=opts)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        host.terminate_children()
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    # The engine reads exactly one line from stdout: our port.
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()

    stop.wait()
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
