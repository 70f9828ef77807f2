"""`otp-tui check`'s words for a Redis ledger: what answered, and on which topology (the primary,
its replicas, the sentinels that answer and whether `ledger_replicas` is met; a Cluster's masters
and the slots covered)."""

from __future__ import annotations

from collections.abc import Sequence

from otp_tui.config.ledger_location import Topology
from otp_tui.language import _, ngettext
from otp_tui.state.redis_errors import TooFewReplicasError
from otp_tui.state.redis_ledger import RedisLedger


def probe(ledger: RedisLedger) -> str:
    """Connect, authenticate and run a harmless script; the line saying what answered. A
    LedgerError when it fails, or when fewer replicas than `ledger_replicas` answer."""
    server_time, version = ledger.probe_script()
    # The server's time comes last, as a number: a test reads it from there.
    values = {"version": version, "where": ledger.where, "time": f"{server_time:.0f}"}
    topology = ledger.location.topology
    if topology is Topology.SINGLE and not ledger.replicas:
        if ledger.tls:
            # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep
            # it at the end of the line.
            return _("Redis {version} at {where} over TLS: scripts run, server time {time}").format(
                **values
            )
        # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep it
        # at the end of the line.
        return _("Redis {version} at {where}: scripts run, server time {time}").format(**values)
    facts = _cluster_facts(ledger) if topology is Topology.CLUSTER else _group_facts(ledger)
    if ledger.tls:
        facts.append(_("over TLS"))
    # TRANSLATORS: `otp-tui check`: {facts} lists what was seen ("primary 10.0.0.5:6379,
    # 2 replicas, ..."); {time} is the server's clock in Unix seconds, keep it at the end.
    return _("Redis {version} at {where} ({facts}): scripts run, server time {time}").format(
        facts=", ".join(facts), **values
    )


def _group_facts(ledger: RedisLedger) -> list[str]:
    commands: list[Sequence[str | int]] = [("ROLE",)]
    if ledger.replicas:
        commands.append(("WAIT", ledger.replicas, 100))
    replies, primary = ledger.commands(*commands)
    with ledger.one_sentence():
        replicas = len(replies[0][2])
        acknowledged = int(replies[1]) if ledger.replicas else 0
    facts = []
    sentinel = ledger.location.topology is Topology.SENTINEL
    if sentinel:
        # TRANSLATORS: `otp-tui check`: the Redis server the sentinels name as the primary.
        facts.append(_("primary {address}").format(address=primary))
    facts.append(ngettext("{count} replica", "{count} replicas", replicas).format(count=replicas))
    if sentinel:
        reachable, count = ledger.sentinels_answering()
        facts.append(
            ngettext(
                "{reachable} of {count} sentinel reachable",
                "{reachable} of {count} sentinels reachable",
                count,
            ).format(reachable=reachable, count=count)
        )
    if ledger.replicas:
        if acknowledged < ledger.replicas:
            with ledger.one_sentence():
                raise TooFewReplicasError(acknowledged)
        # TRANSLATORS: `otp-tui check`: ledger_replicas is a setting's name; keep it.
        facts.append(_("ledger_replicas {count} met").format(count=ledger.replicas))
    return facts


def _cluster_facts(ledger: RedisLedger) -> list[str]:
    info = ledger.cluster_info()
    with ledger.one_sentence():
        masters, covered = int(info["cluster_size"]), int(info["cluster_slots_ok"])
    return [
        # TRANSLATORS: `otp-tui check`: the masters of a Redis Cluster that serve slots.
        ngettext("{count} master", "{count} masters", masters).format(count=masters),
        # TRANSLATORS: `otp-tui check`: a Redis Cluster's 16384 slots, and how many of them are
        # served.
        _("{covered} of 16384 slots covered").format(covered=covered),
    ]
