# shoal as an image: the agent runs it as a swarm service on the managers
# (repo-template/stacks/shoal).  Plain Dockerfile syntax: builds with the
# classic builder and with BuildKit.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
	build-essential pkg-config libgit2-dev libyaml-dev libcurl4-openssl-dev \
	libjansson-dev libsodium-dev libmicrohttpd-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY agent agent
COPY cli cli
COPY bootstrap bootstrap
COPY reconcile reconcile
COPY secrets secrets
COPY forge forge
RUN make -j2 all && strip shoal shoal-agentd && make install DESTDIR=/out PREFIX=/usr/local

# Runtime: the shared libraries shoal links, CA certificates, nothing else.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
	libgit2-1.5 libyaml-0-2 libcurl4 libjansson4 libsodium23 libmicrohttpd12 ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --user-group --home-dir /var/lib/shoal --shell /usr/sbin/nologin shoal \
	&& mkdir -p /var/lib/shoal && chown shoal:shoal /var/lib/shoal
# shoal, shoal-agentd and the manual page shoal(1), as make install puts them
COPY --from=build /out/usr/local/ /usr/local/
# The agent starts as root only to read its secrets and learn the Docker
# socket's group, then runs as "shoal" (agent --user shoal; see README).
VOLUME /var/lib/shoal
EXPOSE 9300
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["/usr/local/bin/shoal", "health"]
ENTRYPOINT ["/usr/local/bin/shoal"]
CMD ["agent", "--config", "/etc/shoal/agent.conf"]
