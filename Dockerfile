# syntax=docker/dockerfile:1
# idgate: a release build in a Rust image, run from a small Debian image as a non-root user.
#
#   docker build -t idgate .
#   docker run -p 8080:8080 -v idgate-keys:/var/lib/idgate/keys -v idgate-data:/var/lib/idgate/data idgate
#
# Nothing secret is baked in: keys live in the keys volume (generated on first start, or by the
# compose file's one-shot step), and the database URL, with its password, comes from the
# environment (IDGATE__DATABASE__URL).

# The toolchain CI builds and tests with.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
# cargo-chef turns the manifests into a recipe, so the dependencies (minutes of C: libpq,
# OpenSSL, aws-lc, SQLite) build in a layer of their own, cached until Cargo.lock changes.
RUN cargo install cargo-chef --locked --version 0.1.73
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --package idgate --bin idgate --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package idgate --bin idgate \
    && install -m 0755 target/release/idgate /usr/local/bin/idgate

FROM debian:bookworm-slim AS runtime
# curl for the health check, ca-certificates for TLS to a managed PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 idgate \
    && useradd --system --uid 10001 --gid idgate --home-dir /var/lib/idgate \
        --shell /usr/sbin/nologin idgate \
    && mkdir -p /var/lib/idgate/keys /var/lib/idgate/data \
    && chown -R idgate:idgate /var/lib/idgate \
    && chmod 0700 /var/lib/idgate/keys
COPY --from=build /usr/local/bin/idgate /usr/local/bin/idgate
# The defaults file, read from the working directory (config/default.toml); owned by root and
# read-only to the service.
WORKDIR /srv/idgate
COPY config/default.toml config/default.toml
ENV IDGATE__SERVER__HOST=0.0.0.0 \
    IDGATE__SERVER__PORT=8080 \
    IDGATE__KEYS__DIR=/var/lib/idgate/keys \
    IDGATE__DATABASE__URL=sqlite:///var/lib/idgate/data/idgate.db \
    IDGATE__LOG__FORMAT=json
VOLUME ["/var/lib/idgate/keys", "/var/lib/idgate/data"]
USER idgate:idgate
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
# SIGTERM (docker stop) finishes the requests in flight, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["idgate"]
CMD ["serve"]
