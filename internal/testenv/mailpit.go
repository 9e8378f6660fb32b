package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MailpitVersion is the Mailpit the tests run (a real SMTP server with an
// HTTP API to read what arrived).
const MailpitVersion = "v1.33.1"

var mailpitBuild struct {
	once sync.Once
	path string
	err  error
}

// MailpitBinary returns the path of the Mailpit binary, building it once
// per machine (go install, into the user's cache directory, keyed by
// version: go.mod is not touched, and later runs start at once).
// .ci/run builds it before the tests, so their timeout is not spent
// compiling. A build failure fails the test.
func MailpitBinary(t testing.TB) string {
	t.Helper()
	mailpitBuild.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "gatehouse-test", "mailpit-"+MailpitVersion)
		path := filepath.Join(dir, "mailpit")
		if _, err := os.Stat(path); err == nil {
			mailpitBuild.path = path
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			mailpitBuild.err = err
			return
		}
		gobin, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			mailpitBuild.err = err
			return
		}
		defer os.RemoveAll(gobin)
		cmd := exec.Command("go", "install", "github.com/axllent/mailpit@"+MailpitVersion)
		cmd.Dir = gobin // outside any module: go.mod stays as it is
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			mailpitBuild.err = fmt.Errorf("go install mailpit: %v\n%s", err, out)
			return
		}
		// Two test processes may build at once: each renames its own copy.
		mailpitBuild.err = os.Rename(filepath.Join(gobin, "mailpit"), path)
		mailpitBuild.path = path
	})
	if mailpitBuild.err != nil {
		t.Fatalf("Mailpit %s: %v", MailpitVersion, mailpitBuild.err)
	}
	return mailpitBuild.path
}

// Mailpit is a running Mailpit on loopback ports of its own. Stop and
// Start take it down and up again on the same ports (an SMTP outage).
type Mailpit struct {
	t        testing.TB
	bin      string
	SMTPAddr string // host:port of its SMTP server
	APIURL   string // http://host:port of its web API
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
}

// StartMailpit starts a Mailpit on free loopback ports, stopped when the
// test ends.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	m := &Mailpit{t: t, bin: MailpitBinary(t), SMTPAddr: freeAddr(t)}
	m.APIURL = "http://" + freeAddr(t)
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// SMTPURL is the SMTP_URL that reaches it (no TLS, no password).
func (m *Mailpit) SMTPURL() string { return "smtp://" + m.SMTPAddr }

// Start starts the server (again) and waits until its API answers.
func (m *Mailpit) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return
	}
	cmd := exec.Command(m.bin, "--smtp", m.SMTPAddr, "--listen", strings.TrimPrefix(m.APIURL, "http://"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start Mailpit: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(m.APIURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			m.cmd = nil
			m.t.Fatalf("Mailpit exited at start")
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("Mailpit did not become ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Its SMTP port opens beside the API; make sure it listens too.
	for {
		c, err := net.DialTimeout("tcp", m.SMTPAddr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("Mailpit's SMTP port did not open: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and waits until it has gone; what it held is lost.
func (m *Mailpit) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

// MailAddress is an address in Mailpit's API.
type MailAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailSummary is one message in Mailpit's list.
type MailSummary struct {
	ID        string        `json:"ID"`
	MessageID string        `json:"MessageID"`
	From      MailAddress   `json:"From"`
	To        []MailAddress `json:"To"`
	Subject   string        `json:"Subject"`
}

// MailMessage is one message in full.
type MailMessage struct {
	MailSummary
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// Messages lists every message Mailpit holds, newest first.
func (m *Mailpit) Messages(t testing.TB) []MailSummary {
	t.Helper()
	var list struct {
		Messages []MailSummary `json:"messages"`
	}
	m.getJSON(t, "/api/v1/messages?limit=1000", &list)
	return list.Messages
}

// Message reads one message in full.
func (m *Mailpit) Message(t testing.TB, id string) MailMessage {
	t.Helper()
	var msg MailMessage
	m.getJSON(t, "/api/v1/message/"+id, &msg)
	return msg
}

// MessagesTo lists the messages to address, oldest first, in full.
func (m *Mailpit) MessagesTo(t testing.TB, address string) []MailMessage {
	t.Helper()
	var out []MailMessage
	list := m.Messages(t)
	for i := len(list) - 1; i >= 0; i-- {
		for _, to := range list[i].To {
			if strings.EqualFold(to.Address, address) {
				out = append(out, m.Message(t, list[i].ID))
				break
			}
		}
	}
	return out
}

// WaitForMail waits (up to 20 s) until address has received n messages,
// and returns them, oldest first.
func (m *Mailpit) WaitForMail(t testing.TB, address string, n int) []MailMessage {
	t.Helper()
	return m.WaitForSubjects(t, address, "", n)
}

// WaitForSubjects waits (up to 20 s) until address has received n
// messages whose subject starts with prefix, and returns those, oldest
// first; other mail to address is passed over.
func (m *Mailpit) WaitForSubjects(t testing.TB, address, prefix string, n int) []MailMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []MailMessage
		for _, msg := range m.MessagesTo(t, address) {
			if strings.HasPrefix(msg.Subject, prefix) {
				got = append(got, msg)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail to %s (subject %q…): got %d messages, want %d", address, prefix, len(got), n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (m *Mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.APIURL + path)
	if err != nil {
		t.Fatalf("Mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Mailpit API %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("Mailpit API %s: %v", path, err)
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
