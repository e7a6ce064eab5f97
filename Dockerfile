# syntax=docker/dockerfile:1
# Portcullis container image: a release build, then a small runtime image that runs it as a
# non-root user with its settings in /etc/portcullis.
#
#   docker build --build-arg PORTCULLIS_GIT_REVISION=$(git rev-parse --short=12 HEAD) -t portcullis .
#   docker run -p 8080:8080 -v $PWD/my-policy:/etc/portcullis/policy portcullis
#
# `docker kill -s HUP` reloads the policy; `docker stop` (SIGTERM) drains open connections first.
# tests/it/packaging.rs checks this file against the binary (paths, ports, user, flags).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
ARG PORTCULLIS_GIT_REVISION=unknown
ENV PORTCULLIS_GIT_REVISION=${PORTCULLIS_GIT_REVISION}
RUN cargo build --release --locked --bin portcullis

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin portcullis
COPY --from=build /src/target/release/portcullis /usr/local/bin/portcullis
COPY packaging/container/portcullis.json /etc/portcullis/portcullis.json
COPY config/policy /etc/portcullis/policy
COPY config/imports /etc/portcullis/imports
RUN chown -R portcullis:portcullis /etc/portcullis/policy
USER portcullis
WORKDIR /
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD curl -fsS http://127.0.0.1:9901/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
