// Command echo is the benchmark's reference: bare Echo with no middleware.
//
//	GET  /       a small JSON answer (what Gatehouse's /healthz answers)
//	POST /login  one argon2id verification of the form field "password"
//	             against a hash made at start with Gatehouse's default cost
//	             (19456 KiB, t=2, p=1), so the login ratio compares like with like.
//
// It listens on loopback only: -addr (or ECHO_ADDR), default 127.0.0.1:8081.
// The password the hash is made from is -password (or ECHO_PASSWORD).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/alexedwards/argon2id"
	"github.com/labstack/echo/v4"
)

// params are Gatehouse's defaults (ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_THREADS).
var params = &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type status struct {
	Status string `json:"status"`
}

type token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func main() {
	addr := flag.String("addr", getenv("ECHO_ADDR", "127.0.0.1:8081"), "listen address (loopback only)")
	password := flag.String("password", getenv("ECHO_PASSWORD", "bench-password-1"), "the one password /login accepts")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("-addr: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("-addr: %q is not a loopback address", host)
	}

	hash, err := argon2id.CreateHash(*password, params)
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.GET("/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, status{Status: "ok"})
	})
	e.POST("/login", func(c echo.Context) error {
		ok, err := argon2id.ComparePasswordAndHash(c.FormValue("password"), hash)
		if err != nil {
			return err
		}
		if !ok {
			return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid_grant"})
		}
		return c.JSON(http.StatusOK, token{AccessToken: "x", TokenType: "bearer"})
	})
	fmt.Printf("bench echo listening on %s\n", *addr)
	log.Fatal(e.Start(*addr))
}
