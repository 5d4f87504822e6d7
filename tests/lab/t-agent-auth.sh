# Git credentials against real servers: HTTPS (lighttpd + mod_openssl with
# a CA of our own, basic auth) and SSH (sshd, deploy key, known_hosts).
# A wrong password, an unknown CA, an unknown or changed host key all fail
# before anything is written; the password never reaches a log.
. "$TOP/tests/lab/lib.sh"
need lighttpd ssh-keygen
pw=pa55-w0rd-$RANDOM$RANDOM
GIT_TLS=1 GIT_AUTH="deploy:$pw" git_server_start
case $? in 0) ;; 77) echo "lighttpd missing: HTTPS auth NOT TESTED"; exit 77 ;; *) cat "$T/httpd.err"; fail "git server did not start" ;; esac
hpid=$HTTPD_PID
ssh_server_start
case $? in 0) ;; 77) kill $hpid; echo "sshd missing: SSH NOT TESTED"; exit 77 ;; *) cat "$T/sshd.log"; kill $hpid; fail "sshd did not start" ;; esac
spid=$SSHD_PID
trap 'kill $hpid $spid 2>/dev/null' EXIT
label_node_for_template
src_init
printf '%s\n' "$pw" > token && chmod 600 token
printf 'wrong\n' > bad.token
once() { # log, args...: one reconcile
	local log=$1; shift
	"$SHOAL" agent --once --cache "$T/$log.git" "$@" > "$log.log" 2>&1
}
nothing_written() { [ -z "$(docker service ls -q)" ] || fail "$1: services were created"; }

# HTTPS: the server's certificate is not signed by a CA we know
expect_rc 1 once h1 --repo "$GIT_URL" --username deploy --token-file token
grep -qi 'certificate' h1.log || { cat h1.log; fail "unknown CA: no certificate error"; }
nothing_written "unknown CA"
# HTTPS: a wrong password
expect_rc 1 once h2 --repo "$GIT_URL" --ca-file "$T/ca.pem" --username deploy --token-file bad.token
grep -qi 'auth\|401' h2.log || { cat h2.log; fail "wrong password: no authentication error"; }
nothing_written "wrong password"
# HTTPS: right CA and password
expect_rc 0 once h3 --repo "$GIT_URL" --ca-file "$T/ca.pem" --username deploy --token-file token
docker service inspect kittenapi_kittenapi >/dev/null 2>&1 || { cat h3.log; fail "not applied over HTTPS"; }

# SSH: a new commit, so a successful SSH fetch shows as a write
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
before=$(all_versions)
expect_rc 64 once s0 --repo "$SSH_URL" --ssh-key "$SSH_KEY"
grep -q 'known-hosts' s0.log || { cat s0.log; fail "no --known-hosts: not refused"; }
# a host key other than the server's
ssh-keygen -q -t ed25519 -N '' -f other_key
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1-2 other_key.pub)" > kh.other
expect_rc 1 once s1 --repo "$SSH_URL" --ssh-key "$SSH_KEY" --known-hosts kh.other
grep -q 'HOST KEY MISMATCH' s1.log || { cat s1.log; fail "changed host key not refused"; }
# the server's key, listed for another host only
sed "s/^\[127.0.0.1\]:$SSH_PORT /other.example /" "$KNOWN_HOSTS" > kh.unknown
expect_rc 1 once s2 --repo "$SSH_URL" --ssh-key "$SSH_KEY" --known-hosts kh.unknown
grep -q 'is not in' s2.log || { cat s2.log; fail "unknown host not refused"; }
# revoked
{ cat "$KNOWN_HOSTS"; printf '@revoked * %s\n' "$(cut -d' ' -f1-2 "$T/ssh_host_key.pub")"; } > kh.revoked
expect_rc 1 once s3 --repo "$SSH_URL" --ssh-key "$SSH_KEY" --known-hosts kh.revoked
grep -q 'revoked' s3.log || { cat s3.log; fail "revoked key not refused"; }
[ "$before" = "$(all_versions)" ] || fail "a refused connection wrote"
# the right host key and the deploy key
expect_rc 0 once s4 --repo "$SSH_URL" --ssh-key "$SSH_KEY" --known-hosts "$KNOWN_HOSTS"
grep -q "commit ${v2:0:12}" s4.log || { cat s4.log; fail "v2 not fetched over SSH"; }
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi | grep -q busybox ||
	fail "v2 not applied over SSH"
grep -q 'Accepted publickey for root' "$T/sshd.log" || fail "sshd saw no key login"
# secrets stay out of the logs
! grep -l -- "$pw" ./*.log && ! grep -l "$(sed -n 2p "$SSH_KEY")" ./*.log || fail "a credential reached a log"
echo "ok: HTTPS CA + basic auth, SSH deploy key + known_hosts (unknown, changed, revoked refused)"
