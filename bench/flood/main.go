// Command flood opens N connections at once and sends one login on each, all
// released together, to see how much memory a server needs under a burst.
// wrk is no good at this: it keeps connections busy rather than starting
// N requests at the same instant, and it struggles with 1 MB bodies.
//
//	FLOOD_PASSWORD=P flood -url http://127.0.0.1:PORT/api/login -n 500 -username U [-distinct-ips]
//	      [-kind form|json|multipart] [-password-bytes 1000000 | -body-bytes 65536 [-pad-field scope]]
//
// With -distinct-ips, each request carries its own X-Forwarded-For client
// address (10.x.y.z), as if N clients came through one trusted proxy.
// -kind is the body's type: x-www-form-urlencoded (form, the default), JSON
// or multipart/form-data, with the same fields.
// With -password-bytes, the password field is that many bytes (so the body is
// about that big) instead of -password: such a login is refused before any
// hashing (no password is that long). With -body-bytes, the body is exactly
// that many bytes, the password stays -password and the rest is filler in
// -pad-field (default scope: a field the login keeps and reads once the
// password is checked, so the filler is still wanted while the request waits
// for a hashing slot) — the largest login that reaches argon2id. It prints one line of status counts,
// e.g. "flood: 500 requests in 12.3s: 200=480 503=20", and exits 0 unless a
// request could not be made at all (a transport error is counted, not fatal).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "", "login URL (http://127.0.0.1:PORT/api/login)")
	n := flag.Int("n", 500, "concurrent connections, one login each")
	username := flag.String("username", "", "form field username")
	password := flag.String("password", os.Getenv("FLOOD_PASSWORD"), "form field password (default $FLOOD_PASSWORD, so it stays out of argv)")
	passwordBytes := flag.Int("password-bytes", 0, "if > 0, send a password of this many bytes instead")
	kind := flag.String("kind", "form", "body type: form (x-www-form-urlencoded), json or multipart")
	bodyBytes := flag.Int("body-bytes", 0, "if > 0, pad the body to exactly this many bytes with filler in -pad-field")
	padField := flag.String("pad-field", "scope", "the field -body-bytes fills")
	distinctIPs := flag.Bool("distinct-ips", false, "send X-Forwarded-For 10.x.y.z, a different one per request (the server must trust 127.0.0.1 as a proxy)")
	timeout := flag.Duration("timeout", 120*time.Second, "per-request timeout")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "flood: -url is required")
		os.Exit(2)
	}

	pw := *password
	if *passwordBytes > 0 {
		pw = strings.Repeat("x", *passwordBytes)
	}
	// One shared body: every request reads it through its own bytes.Reader,
	// so the load generator itself does not hold N copies.
	body, contentType, err := makeBody(*kind, *username, pw, *padField, *bodyBytes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(2)
	}

	// One connection per request: no reuse, no limit, so the server really
	// sees N simultaneous connections.
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableKeepAlives:   true,
			MaxConnsPerHost:     0,
			MaxIdleConnsPerHost: -1,
		},
	}

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, *target, bytes.NewReader(body))
			if err != nil {
				panic(err)
			}
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("Accept", "application/json")
			if *distinctIPs {
				// As if N clients came through one reverse proxy: the
				// server's throttle then sees N client IPs, not one.
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i/62500%250, i/250%250, i%250+1))
			}
			<-start // release every request at once
			key := ""
			resp, err := client.Do(req)
			if err != nil {
				key = "error:" + shortErr(err)
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				key = fmt.Sprint(resp.StatusCode)
			}
			mu.Lock()
			counts[key]++
			mu.Unlock()
		}(i)
	}
	t0 := time.Now()
	close(start)
	wg.Wait()

	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	fmt.Printf("flood: %d %s requests of %d bytes in %.1fs: %s\n", *n, *kind, len(body), time.Since(t0).Seconds(), strings.Join(parts, " "))
}

// shortErr names a transport error by its kind, so the counts stay few.
func shortErr(err error) string {
	s := err.Error()
	for _, k := range []string{"connection reset", "broken pipe", "EOF", "timeout", "refused"} {
		if strings.Contains(s, k) {
			return strings.ReplaceAll(k, " ", "_")
		}
	}
	return "other"
}

// makeBody returns a login body of the given kind and its Content-Type.
// With size > 0 the body is exactly size bytes: pad is filled with "x" as
// far as that takes (an "x" needs no escaping in any of the kinds).
func makeBody(kind, username, password, pad string, size int) ([]byte, string, error) {
	build := func(filler string) ([]byte, string, error) {
		fields := [][2]string{{"username", username}, {"password", password}}
		if size > 0 {
			fields = append(fields, [2]string{pad, filler})
		}
		switch kind {
		case "form":
			v := url.Values{}
			for _, f := range fields {
				v.Add(f[0], f[1])
			}
			return []byte(v.Encode()), "application/x-www-form-urlencoded", nil
		case "json":
			m := map[string]string{}
			for _, f := range fields {
				m[f[0]] = f[1]
			}
			b, err := json.Marshal(m)
			return b, "application/json", err
		case "multipart":
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			if err := w.SetBoundary("flood-boundary-0123456789"); err != nil {
				return nil, "", err
			}
			for _, f := range fields {
				if err := w.WriteField(f[0], f[1]); err != nil {
					return nil, "", err
				}
			}
			if err := w.Close(); err != nil {
				return nil, "", err
			}
			return buf.Bytes(), w.FormDataContentType(), nil
		}
		return nil, "", fmt.Errorf("-kind %q: want form, json or multipart", kind)
	}
	body, ct, err := build("")
	if err != nil || size <= 0 {
		return body, ct, err
	}
	if len(body) > size {
		return nil, "", fmt.Errorf("-body-bytes %d: the fields alone take %d bytes", size, len(body))
	}
	return build(strings.Repeat("x", size-len(body)))
}
