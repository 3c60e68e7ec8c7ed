"""Firewall tools (ladder level 4): removing every rule is a known destructive form.

``iptables -F`` / ``--flush`` and ``-X`` / ``--delete-chain`` (and ip6tables, ebtables,
arptables and the -legacy/-nft builds), ``nft flush ruleset`` (or a table or chain) and
``nft delete table``, ``ufw disable`` and ``ufw reset`` open the machine whatever the target:
denied. Every other use of these tools changes the firewall or reads it as root: it asks.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import ShellContext, deny, not_known_safe
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]
_IPTABLES_FLUSH = frozenset({"-F", "--flush", "-X", "--delete-chain"})
_IPTABLES = [  # each base tool, and its legacy and nftables builds
    f"{base}{build}"
    for base in ("iptables", "ip6tables", "ebtables", "arptables")
    for build in ("", "-legacy", "-nft")
]


def iptables(name: str) -> Check:
    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        flush = [a for a in args if a in _IPTABLES_FLUSH or a.startswith(("--flush=", "-F"))]
        flush += [a for a in args if a.startswith("--fl") and "--flush".startswith(a)]
        if flush:
            why = f"{name} {flush[0]} removes firewall rules: the machine is left open"
            return [deny("shell:firewall-flush", why)]
        return [not_known_safe(name)]

    return check


def nft(args: list[str], ctx: ShellContext) -> list[Decision]:
    words = [a.lower() for a in args if not a.startswith("-")]
    if words[:1] in (["flush"], ["delete"], ["destroy"]) and words[1:2] != ["element"]:
        why = f"nft {' '.join(words[:2])} removes firewall rules: the machine is left open"
        return [deny("shell:firewall-flush", why)]
    return [not_known_safe("nft")]


def ufw(args: list[str], ctx: ShellContext) -> list[Decision]:
    words = [a.lower() for a in args if not a.startswith("-")]
    if words[:1] in (["disable"], ["reset"]):
        return [deny("shell:firewall-flush", f"ufw {words[0]} turns the firewall off")]
    return [not_known_safe("ufw")]


FIREWALL: dict[str, Check] = {
    **{name: iptables(name) for name in _IPTABLES},
    "nft": nft,
    "ufw": ufw,
}
