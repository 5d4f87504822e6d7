# shoal as an image (the agent runs it as a swarm service on managers).
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
	build-essential pkg-config libgit2-dev libyaml-dev libcurl4-openssl-dev \
	libjansson-dev libsodium-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY agent agent
COPY reconcile reconcile
RUN make -j2 shoal

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
	libgit2-1.5 libyaml-0-2 libcurl4 libjansson4 libsodium23 ca-certificates \
	git jq curl \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /src/shoal /usr/local/bin/shoal
ENTRYPOINT ["/usr/local/bin/shoal"]
