#!/usr/bin/env bash
# Logical backups of the mVoting database: the second line behind base backups and WAL archiving
# (docs/operations/backups.md). The restore drill (tests/reliability/test_restore_drill.py) runs
# this very script, so the commands the documentation gives are the ones a test proves.
#
#   deploy/backup.sh dump    DATABASE_URL FILE   pg_dump of the whole database, custom format.
#                            With BACKUP_GPG_RECIPIENT set, the dump is streamed through
#                            `gpg --encrypt` and never touches the disk in clear: FILE.gpg.
#   deploy/backup.sh restore FILE DATABASE_URL   into an EMPTY database (refused otherwise), all or
#                            nothing (one transaction), owned by the role that restores; run
#                            `manage.py db_roles` afterwards to give the servers' role its rights.
#   deploy/backup.sh list    FILE                the archive's table of contents: a dump that
#                            lists is complete and readable (a truncated one is not).
#
# Give URLs without a password and let libpq read it from ~/.pgpass or PGPASSWORD: a password on
# the command line shows in `ps`. The client tools must be of the server's major version or newer.
set -euo pipefail

usage() {
    sed -n '6,14p' "$0" >&2
    exit 2
}

[ $# -ge 1 ] || usage
command=$1
shift

case "$command" in
dump)
    [ $# -eq 2 ] || usage
    url=$1 file=$2
    recipient=${BACKUP_GPG_RECIPIENT:-}
    [ -z "$recipient" ] || file="$file.gpg"
    # Written beside its final name and renamed when complete: a dump cut short by a crash or a
    # full disk never carries the name a restore would pick up.
    partial="$file.partial"
    trap 'rm -f "$partial"' EXIT
    umask 077 # personal data: readable by the backup's owner only
    if [ -n "$recipient" ]; then
        pg_dump --format=custom --no-password --dbname="$url" |
            gpg --batch --yes --trust-model always --encrypt --recipient "$recipient" \
                --output "$partial"
    else
        pg_dump --format=custom --no-password --dbname="$url" --file="$partial"
    fi
    mv "$partial" "$file"
    trap - EXIT
    (cd "$(dirname "$file")" && sha256sum "$(basename "$file")") >"$file.sha256"
    echo "backup written: $file ($(wc -c <"$file") bytes), checksum in $file.sha256"
    ;;
restore)
    [ $# -eq 2 ] || usage
    file=$1 url=$2
    if [ -f "$file.sha256" ]; then
        (cd "$(dirname "$file")" && sha256sum --check --quiet "$(basename "$file").sha256")
    fi
    tables=$(psql --no-password --dbname="$url" --tuples-only --no-align \
        --command="SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if [ "$tables" != "0" ]; then
        echo "refused: the target database has $tables tables; restore into an empty one" >&2
        exit 1
    fi
    # No --table, --schema or --data-only here, ever: the ballot box (participations, sealed
    # envelopes, the board, its trackers, the counters and the counter's state) and the audit
    # chain are only consistent as a whole (docs/operations/backups.md).
    options=(--exit-on-error --single-transaction --no-owner --no-privileges --no-password
        --dbname="$url")
    case "$file" in
    *.gpg) gpg --batch --quiet --decrypt "$file" | pg_restore "${options[@]}" ;;
    *) pg_restore "${options[@]}" "$file" ;;
    esac
    echo "restored $file; now: manage.py db_roles, verify_tallies, verify_audit"
    ;;
list)
    [ $# -eq 1 ] || usage
    case "$1" in
    *.gpg) gpg --batch --quiet --decrypt "$1" | pg_restore --list ;;
    *) pg_restore --list "$1" ;;
    esac
    ;;
*)
    usage
    ;;
esac
