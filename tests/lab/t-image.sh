# The agent image, built from the Dockerfile on a debian:bookworm-slim made
# with debootstrap, run as repo-template's own agent stack (stacks/shoal:
# one replica on a manager, docker.sock, key and credentials as secrets,
# settings as an external config), reconciling a repo served inside the lab.
# It applies pushed commits as the unprivileged shoal user, passes its
# health check, and updates its own stack from git: the old task hands over
# and the new one converges, so the swarm is never left without an agent.
. "$TOP/tests/lab/lib.sh"
need debootstrap socat
agent_image; case $? in 0) ;; 77) echo "debootstrap or socat missing: image NOT TESTED"; exit 77 ;; *) fail "no agent image" ;; esac
hpid=
trap 'kill $hpid 2>/dev/null' EXIT
docker run --rm shoal:lab version | grep -q shoal || fail "the image does not run shoal"
docker image inspect -f '{{json .Config.Healthcheck.Test}}' shoal:lab | grep -q health || fail "no HEALTHCHECK"
size=$(docker image inspect -f '{{.Size}}' shoal:lab)
echo "image size: $((size / 1024 / 1024)) MiB"
# no compiler, no headers in the runtime image
docker run --rm --entrypoint /bin/sh shoal:lab -c 'command -v cc || ls /usr/include/git2.h' 2>/dev/null && fail "build tools in the runtime image"

# a Git server the agent's container can reach: inside the lab namespace
GIT_NETNS=$LAB_NS GIT_BIND=192.168.250.2 git_server_start || fail "git server did not start"
hpid=$HTTPD_PID
label_node_for_template
KEEP_AGENT_STACK=1 src_init
push() { ( cd src && git add -A && git commit -qm "$1" && git push -q ../origin.git main ) || fail "push $1"; }
sed -i 's|^SHOAL_IMAGE=.*|SHOAL_IMAGE=shoal:lab|' src/vars.env
# the lab engine's socket stands in for /var/run/docker.sock
sed -i "s|- /var/run/docker.sock:|- $LAB_DIR/run/docker.sock:|" src/stacks/shoal/shoal.yml
push "lab image and socket"
v1=$(git -C src rev-parse HEAD)
# what the bootstrap creates beside the agent, never in the repository
printf 'webhook-s3cret' | docker secret create shoal-webhook-secret - >/dev/null
printf 'no-token-needed' | docker secret create shoal-git-token - >/dev/null
docker secret create shoal-key "$SHOAL_KEY_FILE" >/dev/null
cat > agent.conf <<CONF
repo = $GIT_URL
interval = 2s
listen = 0.0.0.0:9300
cache = /var/lib/shoal/repo.git
user = shoal
key = /run/secrets/shoal-key
token-file = /run/secrets/shoal-git-token
webhook-secret-file = /run/secrets/shoal-webhook-secret
log-format = json
CONF
docker config create shoal-agent-conf agent.conf >/dev/null
# bootstrap: one apply by hand starts the agent, which then takes over
"$SHOAL" apply src > apply.log 2>&1 || { cat apply.log; fail "bootstrap apply"; }
status() { nsenter --net=/run/netns/"$LAB_NS" curl -fs http://127.0.0.1:9300/status; }
field() { status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
wait_applied() { # sha seconds
	for _ in $(seq 1 $(($2 * 2))); do [ "$(field commit_applied)" = "$1" ] && return 0; sleep 0.5; done
	return 1
}
agent_logs() { docker service logs --raw shoal_agent 2>&1 | tail -30; }
wait_applied "$v1" 90 || { docker service ps --no-trunc shoal_agent; agent_logs; fail "the agent did not apply v1"; }
# the running task's PID 1 (on a loaded machine a first task may have
# been replaced by then: asked again of the one running now)
uid=
for _ in $(seq 1 20); do
	c=$(task_container shoal_agent) && uid=$(docker exec "$c" sh -c 'grep ^Uid: /proc/1/status' 2>&1) && break
	sleep 0.5
done
[ -n "$c" ] || fail "no agent container"
echo "$uid" | grep -q '^Uid:[[:space:]]*10001[[:space:]]' ||
	{ echo "agent's PID 1: $uid"; docker service ps --no-trunc shoal_agent; agent_logs; fail "the agent does not run as shoal (uid 10001)"; }
docker exec "$c" /usr/local/bin/shoal health >/dev/null || fail "shoal health inside the container"
# a pushed commit is applied by the agent in the container
printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > src/stacks/kittenapi/vars.env
push v2
v2=$(git -C src rev-parse HEAD)
wait_applied "$v2" 60 || { agent_logs; fail "v2 not applied"; }
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi | grep -q busybox || fail "v2 content"
# the agent's own stack changed in git: it replaces itself and converges
sed -i 's/delay: 5s/delay: 6s/' src/stacks/shoal/shoal.yml
push v3
v3=$(git -C src rev-parse HEAD)
wait_applied "$v3" 120 || { docker service ps shoal_agent; agent_logs; fail "the agent did not come back with v3 applied"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.RestartPolicy.Delay}}' shoal_agent)" = 6s ] || fail "v3 spec"
c2=$(task_container shoal_agent)
[ "$c2" != "$c" ] || fail "the agent's task was not replaced"
[ "$(docker ps -q --filter label=com.docker.swarm.service.name=shoal_agent | wc -l)" = 1 ] || fail "not exactly one agent"
echo "ok: image built ($((size / 1024 / 1024)) MiB), agent service applied v1-v3 as uid 10001, replaced itself"
docker service rm shoal_agent >/dev/null; sleep 2; docker volume rm shoal_shoal-cache >/dev/null 2>&1
true
