// The benchmark's bare-Echo reference. Its own module, so it is not part of
// Gatehouse's ./... (go vet, go test). golang.org/x/* are pinned to the
// versions Gatehouse's go.mod uses, so the argon2id code is the same.
module gatehousebench/echo

go 1.26.8

require (
	github.com/alexedwards/argon2id v1.0.0
	github.com/labstack/echo/v4 v4.16.0
)

require (
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
