package tests

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestCLIClients registers, lists, re-keys and removes an application
// with the built binary (contract §10), and checks the registered app
// against a served Gatehouse: the secret printed once works at the token
// endpoint, a new one replaces it at once, and removing the app ends it.
func TestCLIClients(t *testing.T) {
	c := newCLI(t, sqliteDB)
	out := c.mustRun("", "client", "add", "--name", "Notes", "--redirect-uri", "https://notes.example/callback",
		"--redirect-uri", "http://127.0.0.1/cb", "--scopes", "openid email")
	id := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("client add printed %q", out)
	}
	pub := c.mustRun("", "client", "add", "--name", "SPA", "--public", "--redirect-uri", "https://spa.example/cb")
	if strings.Contains(pub, "client_secret") {
		t.Fatalf("a public client got a secret: %q", pub)
	}
	if list := c.mustRun("", "client", "list"); !strings.Contains(list, id[1]) || !strings.Contains(list, "Notes") || !strings.Contains(list, "public") {
		t.Fatalf("client list: %q", list)
	}
	for _, bad := range [][]string{
		{"client", "add", "--name", "x"},
		{"client", "add", "--name", "x", "--redirect-uri", "not a uri"},
		{"client", "add", "--name", "x", "--redirect-uri", "https://a.example/cb", "--scopes", "openid root"},
		{"client", "add", "--name", "x", "--redirect-uri", "https://a.example/cb#frag"},
		{"client", "secret", "nobody"},
		{"client", "remove"},
		{"client", "frobnicate"},
	} {
		if _, errOut, code := c.run("", bad...); code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || strings.Contains(errOut, "goroutine") {
			t.Errorf("gatehouse %v: exit %d, stderr %q: want 1 and one line", bad, code, errOut)
		}
	}

	srv := c.serve()
	tokenWith := func(secret string) int {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("a", 43)}}
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id[1], secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := tokenWith(secret[1]); code != http.StatusBadRequest { // authenticated; the refresh token is unknown
		t.Fatalf("the printed secret: %d, want 400 invalid_grant", code)
	}
	renewed := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(c.mustRun("", "client", "secret", id[1]))
	if renewed == nil || tokenWith(secret[1]) != http.StatusUnauthorized || tokenWith(renewed[1]) != http.StatusBadRequest {
		t.Fatal("a new secret did not replace the old one at once")
	}
	c.mustRun("", "client", "remove", id[1])
	if code := tokenWith(renewed[1]); code != http.StatusUnauthorized {
		t.Fatalf("a removed client: %d, want 401", code)
	}
	if list := c.mustRun("", "client", "list"); strings.Contains(list, id[1]) {
		t.Fatalf("removed, yet listed: %q", list)
	}
}
