# syntax=docker/dockerfile:1
#
# hookwarden container image.
#
#   docker build --build-arg VERSION=$(make -s version) -t REGISTRY/hookwarden:$(make -s version) .
#
# The build context has no .git (.dockerignore), so without the VERSION
# argument the binary reports the Makefile's VERSION (mk/version.mk).
#
# Stage 1 builds with the project's own Makefile (`make`, then
# `make install DESTDIR=/rootfs PREFIX=/usr/local`, the same install that
# tests/deploy checks) on Debian bookworm, and collects the shared libraries the
# binary needs.
#
# Stage 2 is gcr.io/distroless/base-debian12:nonroot, chosen because:
#   - it is built from the same Debian release as stage 1, so the libraries
#     copied across match the loader and paths they were linked for;
#   - it already carries glibc and libssl3 (OpenSSL), and nothing else we could
#     do without: no shell, no package manager, no coreutils;
#   - its "nonroot" user is uid/gid 65532, which deploy/base runs as.
# static-debian12 lacks glibc; cc-debian12 adds libstdc++, which hookwarden does
# not use. The libraries base-debian12 lacks (libmicrohttpd, jansson, libyaml,
# GnuTLS and its dependencies, libgcc_s) are copied by
# deploy/image/runtime-libs.sh; tests/deploy runs the binary in a chroot made of
# exactly those plus glibc and libssl3, as uid 65532, to show the set suffices.
#
# For reproducible builds, pin both base images by digest (@sha256:...).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libmicrohttpd-dev libjansson-dev libssl-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets in only what the build needs (no certs/, no build/).
COPY . .
ARG VERSION=
RUN make -j"$(nproc)" all ${VERSION:+VERSION="$VERSION"} \
 && make install DESTDIR=/rootfs PREFIX=/usr/local ${VERSION:+VERSION="$VERSION"} \
 && /rootfs/usr/local/bin/hookwarden --version \
 && deploy/image/runtime-libs.sh /rootfs/usr/local/bin/hookwarden /rootfs

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/hookwarden"]
# deploy/base passes: serve --tls-cert-file ... --tls-private-key-file ... --config ...
CMD ["--help"]
LABEL org.opencontainers.image.title="hookwarden" \
      org.opencontainers.image.description="Mutating admission webhook that makes Helm migration Jobs safe"
