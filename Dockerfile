# Gatehouse as a container image (contract §12): a static binary in an
# otherwise empty image — no shell, no package manager — run as a non-root
# user, with its data under /data and its health check built in.
#
#   docker build -t gatehouse .
#   docker run -p 8000:8000 -v gatehouse-data:/data \
#     -e APP_ENV=production -e BASE_URL=https://login.example.com \
#     -e SESSION_SECRET=… -e JWT_SECRET=… -e ENCRYPTION_KEY=… gatehouse
#
# See docs/operations.md.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: SQLite is modernc's pure-Go driver, so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gatehouse . \
 && mkdir -p /out/data

FROM scratch
# CA roots for SMTPS and the login providers' HTTPS; time zones are not needed (UTC).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gatehouse /gatehouse
# /data belongs to the runtime user, so the SQLite file and generated secrets can be written.
COPY --from=build --chown=65532:65532 /out/data /data
ENV ADDR=0.0.0.0:8000 \
    DATA_DIR=/data \
    DATABASE_URL=sqlite:///data/gatehouse.db
USER 65532:65532
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/gatehouse", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/gatehouse"]
CMD ["serve"]
