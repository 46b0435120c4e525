# A small static, non-root image with the single ecs-bridge binary.
# Built where a Docker engine runs (not on the project's CI machines):
#   docker build -t ecs-bridge:dev .
FROM rust:1.95-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl && apt-get update && apt-get install -y --no-install-recommends musl-tools cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --locked --release --target x86_64-unknown-linux-musl --bin ecs-bridge \
 && cp target/x86_64-unknown-linux-musl/release/ecs-bridge /ecs-bridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ecs-bridge /usr/local/bin/ecs-bridge
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ecs-bridge"]
CMD ["controller"]
