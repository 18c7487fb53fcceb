#!/bin/sh
# suppress-address.sh - put one address on the sesgate suppression list
# with redis-cli alone, as sesgate-redis(7) documents the keys:
#
#   suppress-address.sh ADDRESS BOUNCE|COMPLAINT
#
# The address is normalised the way sesgate does it (white space and one
# pair of angle brackets removed, lowercased, trailing dot of the domain
# removed), so that the policy service finds the entry whatever the
# spelling of the recipient.
#
# Environment:
#   PREFIX          key prefix, [redis] prefix (default "sesgate:")
#   REDIS_CLI_ARGS  arguments for redis-cli, e.g. "-h 10.0.0.5 -p 6379"
#   HASH_KEY        [redis] suppression_hash_key when privacy mode is on:
#                   the entry is then keyed by the HMAC-SHA256 of the
#                   address (needs openssl)
#   SOURCE          the entry's source field (default "admin")
set -eu

PREFIX=${PREFIX-sesgate:}
REDIS_CLI_ARGS=${REDIS_CLI_ARGS-}
SOURCE=${SOURCE:-admin}

usage() {
	echo "usage: $0 ADDRESS BOUNCE|COMPLAINT" >&2
	exit 64
}
[ $# -eq 2 ] || usage

bad_address() {
	echo "$0: \"$1\" is not an e-mail address (want local@domain," \
	    "without control characters)" >&2
	exit 65
}
case "$1" in
*[[:cntrl:]]*) bad_address "$1" ;;
esac
# Normalise: trim, strip <...>, lowercase ASCII, drop a trailing dot.
# Only ASCII letters are lowercased, as sesgate does.
# shellcheck disable=SC2018,SC2019
addr=$(printf '%s\n' "$1" | sed -e 's/^[[:blank:]]*//' \
    -e 's/[[:blank:]]*$//' -e 's/^<\(.*\)>$/\1/' -e 's/\.$//' |
    LC_ALL=C tr 'A-Z' 'a-z')
# Text on both sides of the last '@', and a domain that does not start
# with a dot; at most 320 bytes.
local_part=${addr%@*}
domain=${addr##*@}
if [ "$local_part" = "$addr" ] || [ -z "$local_part" ] ||
    [ -z "$domain" ] || [ "${#addr}" -gt 320 ]; then
	bad_address "$1"
fi
case "$domain" in
.*) bad_address "$1" ;;
esac

# shellcheck disable=SC2018,SC2019
reason=$(printf '%s' "$2" | LC_ALL=C tr 'a-z' 'A-Z')
case "$reason" in
BOUNCE | COMPLAINT) ;;
*)	echo "$0: reason \"$2\": want BOUNCE or COMPLAINT" >&2
	exit 65 ;;
esac

member=$addr
if [ -n "${HASH_KEY-}" ]; then
	member=$(printf '%s' "$addr" |
	    openssl dgst -sha256 -hmac "$HASH_KEY" -r | cut -d' ' -f1)
fi

now=$(date +%s)
cli() {
	# shellcheck disable=SC2086 # REDIS_CLI_ARGS is split on purpose
	redis-cli $REDIS_CLI_ARGS "$@" >/dev/null
}
# The hash decides; the index entry follows it, as the suppress operation
# of the decision script writes them. An earlier entry is replaced whole.
cli DEL "${PREFIX}suppression:$member"
cli HSET "${PREFIX}suppression:$member" reason "$reason" time "$now" \
    source "$SOURCE"
cli ZADD "${PREFIX}suppressed" "$now" "$member"
echo "suppressed $member ($reason)"
