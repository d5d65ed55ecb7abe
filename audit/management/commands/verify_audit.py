"""Check the audit log's hash chain: ``manage.py verify_audit`` (exit 0: intact, 1: broken)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import stored_hash, verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain and recompute every entry's HMAC with AUDIT_CHAIN_KEY. "
        "Exit 0 and print the entry count and the head (last seq and hash) when it holds; exit 1 "
        "naming the first entry edited, removed, inserted or moved. The chain cannot show that "
        "its newest entries were cut off: record the printed head elsewhere (a ticket, another "
        "system) and pass it back with --head SEQ:HASH, which fails unless that entry is still "
        "there unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="a head printed by an earlier run, which must still be in the chain (repeatable)",
        )

    def handle(self, *args: Any, head: list[str], **options: Any) -> None:
        expected = [_parse_head(value) for value in head]
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit log BROKEN at entry id {report.bad_entry_id} (seq {report.bad_seq}): "
                f"{report.problem}. The {report.count} entries before it verify; their head is "
                f"seq {report.head_seq} hash {report.head_hash}."
            )
        for seq, digest in expected:
            if seq > report.head_seq:
                raise CommandError(
                    f"audit log TRUNCATED: the recorded head seq {seq} is past the last entry "
                    f"(seq {report.head_seq}): entries were removed from the end"
                )
            stored = stored_hash(seq)
            if stored != digest:
                raise CommandError(
                    f"audit log REWRITTEN: entry seq {seq} hashes to {stored}, not the recorded "
                    f"{digest}: the chain was rebuilt from there with the key"
                )
        self.stdout.write(
            f"audit log OK: {report.count} entries; head seq {report.head_seq} "
            f"hash {report.head_hash}"
        )


def _parse_head(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise CommandError(f"--head must be SEQ:HASH (a number and 64 hex characters): {value!r}")
    return int(seq), digest.lower()
