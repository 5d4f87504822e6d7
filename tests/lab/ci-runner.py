#!/usr/bin/env python3
"""Run a repository's review job the way its forge's runner would.

  ci-runner.py --forge github|gitea|gitlab --workflow FILE --mode host|image
               [--image IMAGE] [--shoal-dir DIR] [--event FILE]
               [--env NAME=VALUE ...] [--context NAME=VALUE ...]

The workflow file is read (PyYAML) and checked for what the runner needs
(a pull-request trigger, one job, its container image, shell steps only,
the token's permissions), its ${{ }} expressions are resolved from the
given context (github.token, secrets.*, vars.*; an unknown one fails), and
its steps run:

  host:   each step with sh -e, PATH starting with --shoal-dir (the built
          shoal), only the CI's variables in the environment;
  image:  as the runners do it with the job's image, in the lab engine:
          GitHub's runner creates the job container with the entrypoint
          "tail -f /dev/null", act_runner (Gitea, Forgejo) with
          "/bin/sleep", and runs each step with docker exec "sh -e"; the
          event payload is mounted at /github/workflow/event.json. GitLab's
          docker executor runs the image with the job's image.entrypoint
          (else the image's own) and feeds the script to "sh -s".

The exit status is the job's: that of the first failing step, else 0.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

A = argparse.ArgumentParser()
A.add_argument("--forge", required=True, choices=["github", "gitea", "gitlab"])
A.add_argument("--workflow", required=True)
A.add_argument("--mode", required=True, choices=["host", "image"])
A.add_argument("--image", default=None)
A.add_argument("--shoal-dir", default=None)
A.add_argument("--event", default=None)
A.add_argument("--env", action="append", default=[])
A.add_argument("--context", action="append", default=[])
ARGS = A.parse_args()


def die(msg):
    print("ci-runner: " + msg, file=sys.stderr)
    sys.exit(90)


def pairs(items):
    out = {}
    for kv in items:
        k, _, v = kv.partition("=")
        out[k] = v
    return out


CI_ENV = pairs(ARGS.env)
# host runs of a sanitizer build keep its settings
SAN_ENV = {k: v for k, v in os.environ.items() if k in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")}
CONTEXT = pairs(ARGS.context)
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def resolve(text):
    """${{ a.b }} and ${{ a.b || 'literal' }}, from CONTEXT."""
    def one(m):
        alts = [a.strip() for a in m.group(1).split("||")]
        for a in alts:
            if re.fullmatch(r"'[^']*'", a):
                return a[1:-1]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", a):
                die("expression %r: not one this runner evaluates" % m.group(0))
            if a in CONTEXT:
                if CONTEXT[a]:
                    return CONTEXT[a]
            elif not a.startswith("vars."):
                die("expression %r: %s is not in the job's context" % (m.group(0), a))
        return ""
    return EXPR.sub(one, str(text))


def docker(*args, **kw):
    return subprocess.run(["docker"] + list(args), **kw)


def env_args(env):
    out = []
    for k, v in env.items():
        out += ["-e", "%s=%s" % (k, v)]
    return out


def actions_job(doc):
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    triggers = on if isinstance(on, (list, dict)) else [on]
    if "pull_request" not in triggers and "pull_request_target" not in triggers:
        die("the workflow does not run on pull requests (on: %r)" % (on,))
    jobs = doc.get("jobs") or {}
    if len(jobs) != 1:
        die("expected one job, found %d" % len(jobs))
    name, job = next(iter(jobs.items()))
    if ARGS.forge == "github":
        perms = dict(doc.get("permissions") or {}, **(job.get("permissions") or {}))
        for scope in ("pull-requests", "statuses"):
            if perms.get(scope) != "write":
                die("permissions: %s: write is missing: the job's token could not post" % scope)
    container = job.get("container")
    image = resolve(container.get("image") if isinstance(container, dict) else container or "")
    if not image:
        die("job %s has no container image: it would run on the runner's host, without shoal" % name)
    steps = []
    for s in job.get("steps") or []:
        if "uses" in s:
            die("step %r uses an action (%s): the review needs none" % (s.get("name"), s["uses"]))
        if "run" not in s:
            die("step %r has nothing to run" % s.get("name"))
        env = {k: resolve(v) for k, v in dict(job.get("env") or {}, **(s.get("env") or {})).items()}
        steps.append((s.get("name") or s["run"], resolve(s["run"]), env))
    return image, steps


def run_actions(doc):
    image, steps = actions_job(doc)
    env = dict(CI_ENV)
    workdir = "/__w/infra/infra" if ARGS.forge == "github" else "/workspace/acme/infra"
    if ARGS.mode == "host":
        if ARGS.event:
            env["GITHUB_EVENT_PATH"] = ARGS.event
        for name, run, senv in steps:
            e = dict(env, **senv, **SAN_ENV)
            e["PATH"] = "%s:/usr/local/bin:/usr/bin:/bin" % ARGS.shoal_dir
            e.setdefault("HOME", tempfile.gettempdir())
            print("ci-runner: step %r (host)" % name, flush=True)
            rc = subprocess.run(["sh", "-e", "-c", run], env=e).returncode
            if rc:
                return rc
        return 0
    if ARGS.image and image != ARGS.image:
        die("the job's image is %r, expected %r" % (image, ARGS.image))
    if ARGS.event:
        env["GITHUB_EVENT_PATH"] = "/github/workflow/event.json"
    entry = ["--entrypoint", "tail"] if ARGS.forge == "github" else ["--entrypoint", "/bin/sleep"]
    cmd = ["-f", "/dev/null"] if ARGS.forge == "github" else ["3600"]
    mounts = ["-v", "%s:/github/workflow/event.json:ro" % ARGS.event] if ARGS.event else []
    r = docker("create", "--network", "host", "--workdir", workdir, *entry, *mounts, *env_args(env), image, *cmd,
               capture_output=True, text=True)
    if r.returncode:
        die("docker create: " + r.stderr.strip())
    cid = r.stdout.strip()
    try:
        if docker("start", cid, stdout=subprocess.DEVNULL).returncode:
            die("docker start failed")
        for name, run, senv in steps:
            print("ci-runner: step %r (container %s)" % (name, image), flush=True)
            rc = docker("exec", "--workdir", workdir, *env_args(senv), cid, "sh", "-e", "-c", run).returncode
            if rc:
                return rc
        return 0
    finally:
        docker("rm", "-f", cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def expand_gitlab(text, env):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), str(text))


def run_gitlab(doc):
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
    if len(jobs) != 1:
        die("expected one job with a script, found %d" % len(jobs))
    name, job = next(iter(jobs.items()))
    rules = job.get("rules") or []
    if not any("merge_request_event" in str(r.get("if", "")) for r in rules):
        die("job %s does not run for merge requests" % name)
    variables = {k: str(v) for k, v in dict(doc.get("variables") or {}, **(job.get("variables") or {})).items()}
    env = dict(CI_ENV, **variables)
    img = job.get("image") or doc.get("image")
    image = expand_gitlab(img.get("name") if isinstance(img, dict) else img, env)
    entrypoint = img.get("entrypoint") if isinstance(img, dict) else None
    # the shell expands the script's variables, not the runner
    script = "set -e\n" + "\n".join(str(line) for line in job["script"]) + "\n"
    if ARGS.mode == "host":
        e = dict(env, **SAN_ENV)
        e["PATH"] = "%s:/usr/local/bin:/usr/bin:/bin" % ARGS.shoal_dir
        e.setdefault("HOME", tempfile.gettempdir())
        print("ci-runner: job %r (host)" % name, flush=True)
        return subprocess.run(["sh", "-s"], input=script, text=True, env=e).returncode
    if ARGS.image and image != ARGS.image:
        die("the job's image is %r, expected %r" % (image, ARGS.image))
    ep = []
    if entrypoint is not None:
        if not isinstance(entrypoint, list):
            die("image.entrypoint must be a list")
        # docker run --entrypoint takes one word; [""] clears it
        ep = ["--entrypoint", entrypoint[0] if entrypoint else ""]
        extra = entrypoint[1:]
    else:
        extra = []
    print("ci-runner: job %r (container %s, entrypoint %s)" % (name, image, entrypoint), flush=True)
    return docker("run", "--rm", "-i", "--network", "host", *ep, *env_args(env), image, *extra, "sh", "-s",
                  input=script, text=True).returncode


doc = yaml.safe_load(open(ARGS.workflow))
sys.exit(run_gitlab(doc) if ARGS.forge == "gitlab" else run_actions(doc))
