#!/usr/bin/env bash
# Single sign-on benchmark: what each kind of credential costs per request, on the signed-in
# editors' list of drafts (cache off), beside the anonymous list: Folio's own access token
# (HS256), a personal access token (a hash lookup), and the identity provider's access token
# (RS256 against the provider's cached keys, then the identity's user). The provider is the CI's
# test provider (.ci/browser/oidc-provider.mjs) on 127.0.0.1; its token comes from a real code
# flow with PKCE.
#
#   benches/sso.sh [N] [sqlite] [postgres]        (default 10000, both backends)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/sso-$N-$(date +%Y%m%dT%H%M%S).txt"
CLIENT=folio-bench
CALLBACK=http://127.0.0.1:9/signed-in

# The provider: a free port, its issuer read from its first line.
PROVIDER_LOG="$WORK/oidc-provider.log"
# A new account each run: the provider's issuer (its port) changes, and Folio would not give
# a new identity the account of an earlier run's.
RUN=$(date +%s%N)
OIDC_PORT=0 OIDC_GROUPS=writers OIDC_EMAIL="sso.bench.$RUN@example.com" OIDC_SUBJECT="bench-$RUN" \
    node .ci/browser/oidc-provider.mjs >"$PROVIDER_LOG" 2>&1 &
PROVIDER=$!
trap 'stop_server; kill $PROVIDER 2>/dev/null || true' EXIT
ISSUER=
for _ in $(seq 1 50); do
    ISSUER=$(sed -n 's/^listening //p' "$PROVIDER_LOG")
    [ -n "$ISSUER" ] && break
    sleep 0.1
done
[ -n "$ISSUER" ] || { echo "the provider did not start" >&2; cat "$PROVIDER_LOG" >&2; exit 1; }

# provider_token: the provider's access token for its user, by the code flow with PKCE.
provider_token() {
    local verifier challenge location code
    verifier=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
    challenge=$(python3 -c 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' "$verifier")
    location=$(curl -fs -o /dev/null -w '%{redirect_url}' \
        "$ISSUER/authorize?response_type=code&client_id=$CLIENT&redirect_uri=$CALLBACK&scope=openid&state=bench&nonce=bench&code_challenge=$challenge&code_challenge_method=S256")
    code=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["code"][0])' "$location")
    curl -fs -d grant_type=authorization_code -d "code=$code" -d "client_id=$CLIENT" \
        -d "redirect_uri=$CALLBACK" -d "code_verifier=$verifier" "$ISSUER/token" | json "d['access_token']"
}

printf '%-9s %-8s %-40s %10s %10s %10s %8s %8s\n' backend N workload 'req/s' p50 p99 'srv µs' 'pg µs' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_COUNT_CACHE_TTL_MS=0 FOLIO_ACCESS_TOKEN_TTL_SECS=3600 \
        FOLIO_OIDC_ISSUER="$ISSUER" FOLIO_OIDC_CLIENT_ID=$CLIENT FOLIO_OIDC_ROLE_MAP=writers:editor
    folio_token=$(access_token "$url" bench-editor@example.com editor)
    personal_token=$("$BIN" --database-url "$url" --log warn token create --email bench-editor@example.com \
        --name "bench $(date +%s%N)" --scopes content:read)
    sso_token=$(provider_token)
    # The first use creates the provider's user; the measurement is of the steady state.
    curl -fs -o /dev/null -H "Authorization: Bearer $sso_token" "$BASE/api/v1/me"
    drafts="$BASE/api/v1/articles?status=draft&limit=20"
    for credential in "anonymous list (published)" "Folio access token" "personal access token" "identity provider's token"; do
        case $credential in
            anonymous*) line=$(measure "$BASE/api/v1/articles?limit=20") ;;
            Folio*) line=$(measure "$drafts" -H "Authorization: Bearer $folio_token") ;;
            personal*) line=$(measure "$drafts" -H "Authorization: Bearer $personal_token") ;;
            identity*) line=$(measure "$drafts" -H "Authorization: Bearer $sso_token") ;;
        esac
        printf '%-9s %-8s %-40s %s\n' "$backend" "$N" "$credential" "$line" | tee -a "$RESULTS"
    done
    stop_server
done
echo "results in $RESULTS"
