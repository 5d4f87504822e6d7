# Helpers for lab scenarios (sourced by t-*.sh through run-lab-tests).

fail() { echo "FAIL: $*"; exit 1; }

# A copy of repo-template whose images are the lab's stand-ins.
make_repo() {
	cp -r "$TOP/repo-template" "$1"
	chmod 600 "$1/keys/demo.key"
	SHOAL_KEY_FILE=$(cd "$1" && pwd)/keys/demo.key
	export SHOAL_KEY_FILE
	sed -i "s|^TRAEFIK_IMAGE=.*|TRAEFIK_IMAGE=$LAB_IMAGE|; s|^MONGO_IMAGE=.*|MONGO_IMAGE=$LAB_IMAGE|; s|^KITTENAPI_IMAGE=.*|KITTENAPI_IMAGE=$LAB_IMAGE|" "$1/vars.env"
}

# "name version" for every service, network-independent and sorted.
svc_versions() {
	docker service ls -q | xargs -r docker service inspect -f '{{.Spec.Name}} {{.Version.Index}}' | sort
}

# Versions of every object kind, to prove no write happened.
all_versions() {
	svc_versions
	docker secret ls -q | xargs -r docker secret inspect -f 'secret {{.Spec.Name}} {{.Version.Index}}' | sort
	# the agents' lease (renewed while they run) is not a deployed object
	docker config ls -q | xargs -r docker config inspect -f 'config {{.Spec.Name}} {{.Version.Index}}' | grep -v '^config shoal-lease-' | sort
	docker network ls -q --filter driver=overlay | xargs -r docker network inspect -f 'network {{.Name}} {{.Id}}' | sort
}

expect_rc() { # want, command...
	local want=$1; shift
	"$@"; local rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}

# Seal a value (from stdin) for the repo's recipients.
seal_into() { # repo stack name file
	"$SHOAL" seal --recipient @"$1/keys/recipients" --stack "$2" --name "$3" > "$4"
}

# Wait for a running container of a service; print its ID.
task_container() {
	local c
	for _ in $(seq 1 100); do
		c=$(docker ps -q --filter label=com.docker.swarm.service.name="$1" | head -1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.3
	done
	return 1
}
