"""Cluster, cloud and container command lines (ladder level 4): kubectl, helm, terraform, aws,
gcloud, gsutil, az, docker, podman, docker-compose.

Each is read the way its own parser reads it (cobra/pflag for the Go tools: flags anywhere,
no abbreviations; terraform's single-dash flags; the aws and gcloud command paths), and
decided by the rule of the level:

- its read-only forms run unasked with their safe options only (``kubectl get``, ``helm
  list``, ``terraform plan``, ``aws ec2 describe-*``, ``gcloud ... list``, ``docker ps``);
  an option that points the tool at another cluster, daemon or endpoint, or at a config
  that can run a credential program (``--kubeconfig``, ``docker -H``, ``aws
  --endpoint-url``), asks;
- the forms that destroy are denied, however ordered: deleting resources (``kubectl
  delete``, ``helm uninstall``, ``terraform destroy``, ``aws ... delete-*`` and
  ``terminate-*``, ``aws s3 rm --recursive``, ``gcloud ... delete``, ``az ... delete``,
  ``docker ... prune``, ``docker volume rm``), emptying them (``kubectl scale
  --replicas=0``, ``kubectl drain``), or changing them without review (``terraform apply
  -auto-approve``);
- everything else asks.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    NOT_KNOWN_SAFE,
    PATH_OUTSIDE,
    ShellContext,
    ask,
    deny,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_context import words as name_set
from pytest_opsladder.guardrails.shell_options import OptionSpec, ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision, Verdict

Check = Callable[[list[str], ShellContext], list[Decision]]
_HELP = {"--help", "-h", "--version", "-v", "-version", "-help", "version", "help"}


def _asks(name: str, what: str) -> list[Decision]:
    return [
        ask(NOT_KNOWN_SAFE, f"{name} {what} is not a known read-only form: it may change things")
    ]


def _reads(name: str, parsed: ParsedArgs, option_spec: OptionSpec) -> list[Decision]:
    """Asks for every option of a read form that is not on its safe list."""
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in option_spec.unsafe]
    return unsafe_options(name, bad)


def _go_spec(text: str) -> OptionSpec:
    """A cobra/pflag program: flags anywhere, ``--flag=v`` or ``--flag v``, no prefixes."""
    return spec(text, prefix=False)


# --- kubectl -----------------------------------------------------------------------------
_KUBE_GLOBAL = (
    " -n=|--namespace= --context= --cluster= --user= --request-timeout= -v= --v= --vmodule="
    " --log-flush-frequency= --match-server-version --warnings-as-errors !--cache-dir@"
    " --tls-server-name= !--kubeconfig@ !-s=|--server= !--token= !--as= !--as-group= !--as-uid="
    " !--username= !--password= !--insecure-skip-tls-verify !--certificate-authority@"
    " !--client-certificate@ !--client-key@ !--profile= !--profile-output@ --help -h"
)
_KUBE_READ = _go_spec(
    _KUBE_GLOBAL + " -o=|--output= -l=|--selector= --field-selector= -A|--all-namespaces"
    " -w|--watch --watch-only --output-watch-events --show-labels --sort-by= -L=|--label-columns="
    " --no-headers --show-kind --chunk-size= --ignore-not-found !--raw= -f@|--filename@"
    " -R|--recursive -k@|--kustomize@ --server-print --subresource= --template="
    " --allow-missing-template-keys --show-managed-fields --show-events -c=|--container="
    " --tail= -p|--previous --since= --since-time= --timestamps --all-containers --prefix"
    " --max-log-requests= --limit-bytes= --pod-running-timeout= --ignore-errors"
    " --follow --containers --sum --use-protocol-buffers --api-version= --client --short"
    " --api-group= --namespaced --verbs= --cached --all --minify --flatten"
)
_KUBE_READS = {
    "get", "describe", "logs", "top", "explain", "version", "api-resources", "api-versions",
    "cluster-info", "events",
}  # fmt: skip
_KUBE_CONFIG_READS = {"view", "get-contexts", "current-context", "get-clusters", "get-users"}
_KUBE_DELETES = {"delete", "drain"}


def kubectl(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _KUBE_READ)
    words = parsed.operands
    sub = words[0] if words else ""
    verbs = words[:3] if parsed.unknown else words[:1]  # an unknown flag may hide its value
    found = [v for v in verbs if v in _KUBE_DELETES]
    if found:
        return [deny("cloud:delete", f"kubectl {found[0]} deletes or evicts cluster resources")]
    if sub == "scale" and _zero_replicas(args):
        return [deny("cloud:delete", "kubectl scale --replicas=0 stops every pod of it")]
    if sub in ("apply", "replace") and _has_flag(args, "--prune", "--force"):
        why = f"kubectl {sub} --prune/--force deletes resources that are not in the files"
        return [deny("cloud:delete", why)]
    if not words and all(o.name in ("--help",) for o in parsed.options):
        return []
    second = words[1] if len(words) > 1 else ""
    reads = sub in _KUBE_READS and second != "dump"
    reads = reads or (sub == "config" and second in _KUBE_CONFIG_READS)
    reads = reads or (sub == "auth" and second == "can-i")
    if sub == "exec" and "--" in args:  # the command runs in the pod: its denials stand
        return _asks("kubectl", "exec") + _remote_denies(args[args.index("--") + 1 :], ctx)
    if not reads:
        return _asks("kubectl", sub or "(no subcommand)")
    read = [o.value for o in parsed.options if o.name in ("--filename", "--kustomize") and o.value]
    # ``-o go-template-file=PATH`` and ``-o jsonpath-file=PATH`` read a template file.
    read += [v.split("=", 1)[1] for v in parsed.values("--output") if "-file=" in v]
    return _reads("kubectl", parsed, _KUBE_READ) + path_decisions(
        "kubectl", read, ctx, writes=False
    )


def _zero_replicas(args: list[str]) -> bool:
    """``--replicas=0``, ``--replicas 0`` (``00`` too: it parses as 0)."""
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--replicas=") else None
        if arg == "--replicas" and i + 1 < len(args):
            value = args[i + 1]
        if value is not None and value and value.strip("0") == "":
            return True
    return False


def _has_flag(args: list[str], *names: str) -> bool:
    return any(a.split("=", 1)[0] in names and not a.endswith("=false") for a in args)


# --- helm --------------------------------------------------------------------------------
_HELM_READ = _go_spec(
    "-n=|--namespace= --kube-context= --debug --burst-limit= --qps= !--registry-config@"
    " !--repository-cache@ !--repository-config@ !--kubeconfig@ !--kube-apiserver="
    " !--kube-token= !--kube-as-user= !--kube-as-group= !--kube-ca-file@"
    " !--kube-insecure-skip-tls-verify -A|--all-namespaces -a|--all -o=|--output= -q|--short"
    " -f=|--filter= --deployed --failed --pending --uninstalled --uninstalling --superseded"
    " -d|--date -r|--reverse -m=|--max= --offset= --revision= --show-resources --show-desc"
    " --max-col-width= --time-format= -l=|--selector= --no-headers --template= --help -h"
)
_HELM_READS = {"list", "ls", "status", "history", "hist", "get", "version", "env", "show"}
_HELM_DELETES = {"uninstall", "delete", "del", "un", "uninstal"}


def helm(args: list[str], ctx: ShellContext) -> list[Decision]:
    parsed = parse_options(args, _HELM_READ)
    sub = parsed.operands[0] if parsed.operands else ""
    if sub in _HELM_DELETES:
        return [deny("cloud:delete", f"helm {sub} removes a release and its resources")]
    if sub == "show" and parsed.operands[2:3] and "://" in parsed.operands[2]:
        return _asks("helm", "show URL")
    if sub not in _HELM_READS:
        return _asks("helm", sub or "(no subcommand)")
    return _reads("helm", parsed, _HELM_READ)


# --- terraform ---------------------------------------------------------------------------
_TF_READ = spec(
    "--chdir@ --help --version !--out@ --var= --var-file@ --target= --refresh= --refresh-only"
    " --destroy --input= --lock= --lock-timeout= --no-color --compact-warnings"
    " --detailed-exitcode --parallelism= --replace= --json --check --diff --list= --recursive"
    " --write= --raw --state@ --id= --type= --plan@ --test-directory= !--generate-config-out@"
    " !--backend-config= !--upgrade !--auto-approve",
    prefix=False,
)
_TF_READS = {"plan", "validate", "show", "output", "providers", "version", "graph", "fmt"}
_TF_STATE_READS = {"list", "show", "pull"}


def terraform(args: list[str], ctx: ShellContext) -> list[Decision]:
    """terraform's flags are single-dash words (``-auto-approve``, ``-chdir=DIR``)."""
    words = [
        "-" + a if a.startswith("-") and not a.startswith("--") and len(a) > 2 else a for a in args
    ]
    parsed = parse_options(words, _TF_READ)
    sub, rest = (parsed.operands[0], parsed.operands[1:]) if parsed.operands else ("", [])
    if not sub and len(args) == 1 and args[0] in _HELP:
        return []
    destroy = _tf_destroys(sub, rest, parsed, words)
    if destroy:
        return [deny("cloud:delete", destroy)]
    reads = sub in _TF_READS and (sub != "fmt" or _tf_fmt_only_checks(parsed))
    reads = reads and (sub != "providers" or rest in ([], ["schema"]))
    reads = reads or (sub == "state" and bool(rest) and rest[0] in _TF_STATE_READS)
    reads = reads or (sub == "workspace" and rest[:1] in (["list"], ["show"]))
    if not reads:
        return _asks("terraform", sub or "(no subcommand)")
    paths = [o.value for o in parsed.options if o.name in ("--chdir", "--var-file") and o.value]
    written = parsed.values("--out")  # overwrites that file: asks, as pytest --junitxml does
    return (
        _reads("terraform", parsed, _TF_READ)
        + path_decisions("terraform", paths, ctx, writes=False)
        + path_decisions("terraform", written, ctx)
    )


def _tf_destroys(sub: str, rest: list[str], parsed: ParsedArgs, words: list[str]) -> str | None:
    if sub == "destroy":
        return "terraform destroy deletes every resource of the configuration"
    if sub == "apply" and parsed.get("--destroy"):
        return "terraform apply -destroy deletes every resource of the configuration"
    if sub == "apply" and any(w.split("=")[0] == "--auto-approve" for w in words):
        return "terraform apply -auto-approve changes infrastructure with nobody reviewing the plan"
    if sub == "state" and rest[:1] == ["rm"]:
        return "terraform state rm forgets resources (they keep running, unmanaged)"
    if sub == "state" and rest[:1] == ["push"]:
        return "terraform state push overwrites the remote state"
    if sub == "workspace" and rest[:1] == ["delete"]:
        return "terraform workspace delete drops that workspace's state"
    return None


def _tf_fmt_only_checks(parsed: ParsedArgs) -> bool:
    write = parsed.values("--write")
    return parsed.get("--check") is not None or write == ["false"]


# --- aws ---------------------------------------------------------------------------------
_AWS_GLOBAL_VALUES = {
    "--region", "--profile", "--output", "--query", "--page-size", "--max-items",
    "--starting-token", "--color", "--cli-read-timeout", "--cli-connect-timeout",
    "--cli-binary-format", "--endpoint-url", "--ca-bundle",
}  # fmt: skip
_AWS_UNSAFE = ("--endpoint-url", "--ca-bundle", "--no-verify-ssl")
_AWS_DELETES = ("delete-", "batch-delete-", "terminate-", "purge-")


def aws(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``aws [globals] SERVICE OPERATION [options]``; ``aws s3 ls|rm|sync|rb ...``."""
    positional: list[str] = []
    i = 0
    while i < len(args) and len(positional) < 2:
        word = args[i]
        if word.startswith("--"):
            i += 2 if word in _AWS_GLOBAL_VALUES else 1
            continue
        positional.append(word)
        i += 1
    if not positional and len(args) == 1 and args[0] in ("--version", "help", "--help"):
        return []
    service, op = [*positional, "", ""][:2]
    options = args[i:]
    found = _aws_destroys(service, op, options + args)
    if found:
        return [deny("cloud:delete", found)]
    unsafe = [a for a in args if a.split("=", 1)[0] in _AWS_UNSAFE]
    if unsafe:
        why = f"aws {unsafe[0].split('=')[0]} sends the request, signed, somewhere else"
        return [ask("shell:unsafe-option", why)]
    reads = op.startswith(("describe-", "list-")) or (service, op) in _AWS_READS
    if not reads:
        return _asks("aws", f"{service} {op}".strip())
    files = [a.split("file://", 1)[1] for a in args if "file://" in a]
    return path_decisions("aws", files, ctx, writes=False)


_AWS_READS = {("s3", "ls"), ("sts", "get-caller-identity"), ("configure", "list"), ("help", "")}


def _aws_destroys(service: str, op: str, options: list[str]) -> str | None:
    if "--dry-run" in options:
        return None  # the API only checks the permissions: asked like any other operation

    def given(*names: str) -> bool:
        return any(
            len(a) > 4 and any(n.startswith(a.split("=")[0]) for n in names)
            for a in options
            if a.startswith("--")
        )

    if op.startswith(_AWS_DELETES):
        return f"aws {service} {op} deletes or terminates resources"
    if service == "s3" and op == "rm" and given("--recursive"):
        return "aws s3 rm --recursive deletes every object under the prefix"
    if service == "s3" and op == "rb" and given("--force"):
        return "aws s3 rb --force deletes the bucket and every object in it"
    if service == "s3" and op == "sync" and given("--delete"):
        return "aws s3 sync --delete deletes destination objects missing from the source"
    return None


# --- gcloud, gsutil, az ------------------------------------------------------------------
_GCLOUD_VALUES = {
    "--project", "--zone", "--region", "--filter", "--format", "--limit", "--sort-by",
    "--page-size", "--verbosity", "--configuration", "--account", "--location", "--regions",
    "--zones", "--flatten",
}  # fmt: skip
_GCLOUD_SAFE = _GCLOUD_VALUES | {"--quiet", "-q", "--uri", "--global", "--all"}
# Command groups whose ``list`` and ``describe NAME`` only read. A group is named, never
# guessed: a positional may be a resource name (``instances create vm list`` creates two).
_GCLOUD_GROUPS = name_set(
    "alpha beta compute instances disks networks subnets firewall-rules zones regions images"
    " snapshots addresses operations instance-groups managed unmanaged instance-templates"
    " machine-types routers routes forwarding-rules backend-services target-pools container"
    " clusters node-pools sql databases users backups storage buckets objects projects iam"
    " service-accounts keys roles config configurations auth run services revisions jobs"
    " functions pubsub topics subscriptions logging logs sinks dns managed-zones record-sets"
    " app versions secrets kms keyrings artifacts repositories packages docker builds"
    " triggers organizations folders billing accounts components scheduler tasks queues"
    " redis memcache spanner bigtable dataproc dataflow composer environments"
)


def _gcloud_words(args: list[str]) -> tuple[list[str], list[str]]:
    """(positional words, flags) of a gcloud command; a safe flag's value is skipped."""
    words: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flags.append(arg)
            i += 2 if arg in _GCLOUD_VALUES else 1
        else:
            words.append(arg)
            i += 1
    return words, flags


def gcloud(args: list[str], ctx: ShellContext) -> list[Decision]:
    """``gcloud GROUP... VERB [NAME] [--flags]``: the verb ``delete`` is denied anywhere."""
    words, flags = _gcloud_words(args)
    if "delete" in words:
        path = " ".join(words[: words.index("delete") + 1])
        return [deny("cloud:delete", f"gcloud {path} deletes resources")]
    if words[:2] == ["storage", "rm"] and any(f in ("-r", "-R", "--recursive") for f in flags):
        return [deny("cloud:delete", "gcloud storage rm -r deletes every object under the URL")]
    if not words and len(args) == 1 and args[0] in ("--version", "--help", "-h"):
        return []
    if not _gcloud_reads(words):
        return _asks("gcloud", " ".join(words[:3]) or "(no command)")
    bad = [f for f in flags if f.split("=", 1)[0] not in _GCLOUD_SAFE]
    return unsafe_options("gcloud", bad)


def _gcloud_reads(words: list[str]) -> bool:
    if words[-1:] == ["list"] and all(w in _GCLOUD_GROUPS for w in words[:-1]):
        return True
    if words[-2:-1] == ["describe"] and all(w in _GCLOUD_GROUPS for w in words[:-2]):
        return True
    fixed = (["config", "list"], ["auth", "list"], ["info"], ["version"], ["storage", "ls"])
    return (
        words in fixed
        or (words[:2] == ["config", "get-value"] and len(words) == 3)
        or (words[:2] == ["storage", "ls"] and len(words) == 3)
    )


def gsutil(args: list[str], ctx: ShellContext) -> list[Decision]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-o", "-h", "-u", "-i") else 1
    sub, rest = (args[i], args[i + 1 :]) if i < len(args) else ("", [])
    flags = "".join(a[1:] for a in rest if a.startswith("-") and not a.startswith("--"))
    if sub == "rb" or (sub == "rm" and ("r" in flags or "R" in flags or "a" in flags)):
        return [deny("cloud:delete", f"gsutil {sub} deletes buckets or every object under the URL")]
    if sub == "rsync" and "d" in flags:
        return [deny("cloud:delete", "gsutil rsync -d deletes destination objects")]
    if sub in ("ls", "du", "stat", "cat", "version", "help") and set(flags) <= set("lLrRabhsedp"):
        return []
    return _asks("gsutil", sub or "(no command)")


_AZ_SAFE = {
    "--output", "-o", "--query", "--subscription", "--resource-group", "-g", "--name", "-n",
    "--only-show-errors", "--verbose", "--debug", "--ids", "--location", "-l", "--all",
}  # fmt: skip


def az(args: list[str], ctx: ShellContext) -> list[Decision]:
    words: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(args):
        if args[i].startswith("-"):
            flags.append(args[i])
            takes = args[i] in _AZ_SAFE and args[i] not in (
                "--only-show-errors",
                "--verbose",
                "--debug",
                "--all",
            )
            i += 2 if takes and "=" not in args[i] else 1
        else:
            words.append(args[i])
            i += 1
    verb = words[-1] if words else ""
    if verb in ("delete", "purge") or "delete" in words:
        return [deny("cloud:delete", f"az {' '.join(words)} deletes resources")]
    if not words and flags in (["--version"], ["--help"], ["-h"]):
        return []
    reads = verb in ("list", "show") or words in (["version"], ["account", "show"])
    if not reads:
        return _asks("az", " ".join(words) or "(no command)")
    return unsafe_options("az", [f for f in flags if f.split("=", 1)[0] not in _AZ_SAFE])


# --- docker, podman, docker-compose ------------------------------------------------------
_DOCKER_READ = _go_spec(
    "-l=|--log-level= -D|--debug --tls --tlsverify !-H=|--host= !-c=|--context= !--config@"
    " !--tlscacert@ !--tlscert@ !--tlskey@ -a|--all -q|--quiet -s|--size --no-trunc"
    " -f=|--filter= --format= -n=|--last= --latest --tail= --follow -t|--timestamps"
    " --since= --until= --details --type= --digests --no-stream --tree --help -h -v|--version"
    " -p=|--project-name= --project-directory@ --services --volumes= --images --profile="
    " --env-file@ --status="
)
_DOCKER_READS = {
    "ps", "images", "logs", "inspect", "version", "info", "top", "port", "diff", "history",
    "stats",
}  # fmt: skip
_DOCKER_GROUP_READS = {"ls", "list", "inspect", "history", "logs", "top", "port", "diff", "show"}
_COMPOSE_READS = {"ps", "logs", "config", "ls", "images", "top", "version", "port"}
_PRUNES = {"system", "volume", "image", "container", "network", "builder", "buildx"}


def docker(name: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        words = ["compose", *args] if name == "docker-compose" else args
        parsed = parse_options(words, _DOCKER_READ)
        ops = parsed.operands
        found = _docker_destroys(name, ops, words)
        if found:
            return [deny("cloud:delete", found)]
        if not ops and all(o.name in ("--help", "--version") for o in parsed.options):
            return []
        sub = ops[0] if ops else ""
        action = ops[1] if len(ops) > 1 else ""
        reads = sub in _DOCKER_READS and (sub != "stats" or "--no-stream" in words)
        reads = reads or (sub in _PRUNES | {"context"} and action in _DOCKER_GROUP_READS)
        reads = reads or (sub == "compose" and action in _COMPOSE_READS)
        reads = reads or (sub == "system" and action == "df")
        if sub == "exec":  # ``docker exec [OPTIONS] CONTAINER CMD...``
            return _asks(name, "exec") + _remote_denies(_exec_command(words), ctx)
        if not reads:
            return _asks(name, " ".join(ops[:2]) or "(no command)")
        return _reads(name, parsed, _DOCKER_READ)

    return check


def _docker_destroys(name: str, ops: list[str], words: list[str]) -> str | None:
    sub, action = [*ops, "", ""][:2]
    flags = {w for w in words if w.startswith("-")}
    short = "".join(w[1:] for w in flags if not w.startswith("--"))
    force = "--force" in flags or "f" in short
    if sub in _PRUNES and action == "prune":
        return f"{name} {sub} prune deletes every unused {sub if sub != 'system' else 'object'}"
    if sub == "volume" and action in ("rm", "remove"):
        return f"{name} volume rm deletes the volume's data"
    if (sub == "rm" or (sub == "container" and action in ("rm", "remove"))) and (
        force or "--volumes" in flags or "v" in short
    ):
        return f"{name} rm -f/-v kills running containers or deletes their volumes"
    if (sub == "rmi" or (sub == "image" and action in ("rm", "remove"))) and force:
        return f"{name} rmi -f deletes images still in use"
    if sub == "compose" and action in ("down", "rm") and ("--volumes" in flags or "v" in short):
        return f"{name} compose {action} -v deletes the project's volumes and their data"
    return None


_EXEC_VALUES = {"-e", "--env", "-u", "--user", "-w", "--workdir", "--detach-keys", "--env-file"}


def _exec_command(words: list[str]) -> list[str]:
    """The command of ``docker exec [OPTIONS] CONTAINER COMMAND...`` (options stop at CONTAINER)."""
    i = words.index("exec") + 1
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in _EXEC_VALUES else 1
    return words[i + 1 :]


def _remote_denies(argv: list[str], ctx: ShellContext) -> list[Decision]:
    """What a command run in a pod or container destroys there (its paths are not ours)."""
    return [
        d
        for d in ctx.check_argv(argv)
        if d.verdict is Verdict.DENY and d.rule not in (PATH_OUTSIDE, "shell:device")
    ]


def _help_first(check: Check, spellings: tuple[str, ...]) -> Check:
    """``kubectl delete --help`` prints help and runs nothing: the help flag, before any
    ``--`` and within the first words (later it may belong to a command run in a container),
    makes the line a read."""

    def guarded(args: list[str], ctx: ShellContext) -> list[Decision]:
        head = args[: args.index("--")] if "--" in args else args
        if any(a in spellings for a in head[:3]):
            return []
        return check(args, ctx)

    return guarded


_DASH_HELP = ("--help",)
INFRA: dict[str, Check] = {
    "kubectl": _help_first(kubectl, ("--help", "-h")),
    "helm": _help_first(helm, ("--help", "-h")),
    "terraform": _help_first(terraform, ("-help", "--help", "-h")),
    "aws": aws,
    "gcloud": _help_first(gcloud, _DASH_HELP),
    "gsutil": gsutil,
    "az": _help_first(az, ("--help", "-h")),
    "docker": _help_first(docker("docker"), _DASH_HELP),
    "podman": _help_first(docker("podman"), _DASH_HELP),
    "docker-compose": _help_first(docker("docker-compose"), _DASH_HELP),
}
