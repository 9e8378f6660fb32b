// Command timing checks that a failed login takes as long for an unknown
// email as for a wrong password (contract §9 "Timing": no timing oracle that
// tells which emails have an account).
//
//	timing -url http://127.0.0.1:PORT/api/login -username EXISTING [-n 200] [-warmup 10] [-order random] [-raw FILE]
//
// It sends -n logins with an unknown email (a different one each time, as an
// enumeration would) and -n with a wrong password for the existing account,
// interleaved in pairs — one of each kind — so a change in the machine's
// background load falls on both alike; one at a time on one keep-alive
// connection, so no request queues behind another and no TCP handshake is
// timed. Each request's wall time runs from sending it to the last byte of
// the answer. First come -warmup pairs, checked but not timed (a first login
// pays for lazily opened database connections and the like).
//
// The order within each pair is a coin flip (seeded: every run sends the
// same sequence), not always (unknown, wrong). Why: the server has costs that
// recur every k-th login whatever the login, and strict alternation hands
// every one of them to the same kind when k is even. Here, every fourth
// login was 10 to 15 ms slower (times 4 logins apart correlated at 0.5,
// neighbours not at all) — most likely garbage collection: each argon2id
// check allocates 19 MiB, and GODEBUG=gctrace=1 counted 109 collections in
// 420 logins. With strict alternation that slow login was always the
// unknown email or always the wrong password, depending on the phase: a
// difference of 4 to 6 ms one way or the other, its sign flipped by swapping
// the order within the pairs; in random order it was under 2 ms. -order
// unknown-first or wrong-first sends the fixed orders, to see this.
//
// Every request has its own X-Forwarded-For client address (10.x.y.z), so the
// login throttle (5 failures per account and IP, 20 per IP) never answers
// 429: the server must trust 127.0.0.1 as a proxy (TRUSTED_PROXIES). Every
// answer must be 401 with error "invalid_credentials"; any other is counted
// and reported (the measurement is then invalid), never timed.
//
// The last line of stdout is for scripts, all times in ms:
//
//	TIMING n=200 unknown_median=… unknown_p10=… unknown_p90=… wrong_median=… wrong_p10=… wrong_p90=… diff=… diff_lo=… diff_hi=… paired_median=… bad=0 bad_detail=-
//
// diff is wrong_median − unknown_median; diff_lo–diff_hi is a 95% bootstrap
// interval of it (resampling each side's times), a measure of how far noise
// alone moves the difference; paired_median is the median of the per-pair
// differences (wrong i − unknown i). It exits 0 when the run completed (bad
// answers included), 2 on bad flags.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	target := flag.String("url", "", "login URL (http://127.0.0.1:PORT/api/login)")
	username := flag.String("username", "", "email of an existing account")
	n := flag.Int("n", 200, "timed logins of each kind")
	warmup := flag.Int("warmup", 10, "untimed pairs first")
	ipBase := flag.Int("ip-base", 0, "first client address index (10.x.y.z from it on), so runs against one server use distinct addresses")
	timeout := flag.Duration("timeout", 30*time.Second, "per-request timeout")
	rawPath := flag.String("raw", "", "also write every pair to this file: index, wrong-first?, unknown ms, ok?, wrong ms, ok?")
	order := flag.String("order", "random", "order within each pair: random (a seeded coin flip per pair), unknown-first or wrong-first")
	flag.Parse()
	if *target == "" || *username == "" || *n < 1 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "timing: -url and -username are required; -n ≥ 1, -warmup ≥ 0")
		os.Exit(2)
	}

	// The same wrong password for both kinds, so the two bodies differ only
	// in the email. Random: it cannot be the account's real password.
	password := fmt.Sprintf("wrong-%016x", rand.Uint64())
	client := &http.Client{
		Timeout:   *timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true},
	}
	ip := *ipBase
	bad := map[string]int{}
	// login sends one attempt and returns its wall time and whether the
	// answer was the expected 401 invalid_credentials.
	login := func(email string) (time.Duration, bool) {
		body := url.Values{"username": {email}, "password": {password}}.Encode()
		req, err := http.NewRequest(http.MethodPost, *target, strings.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, "timing:", err)
			os.Exit(2)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", ip/62500%250, ip/250%250, ip%250+1))
		ip++
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			bad["error:"+shortErr(err)]++
			return 0, false
		}
		b, err := io.ReadAll(resp.Body)
		d := time.Since(t0)
		resp.Body.Close()
		switch {
		case err != nil:
			bad["error:"+shortErr(err)]++
		case resp.StatusCode != http.StatusUnauthorized:
			bad[fmt.Sprint(resp.StatusCode)]++
		case !bytes.Contains(b, []byte(`"invalid_credentials"`)):
			bad["401-not-invalid_credentials"]++
		default:
			return d, true
		}
		return 0, false
	}

	// Unknown emails: a different one each time, as an enumeration would
	// send, of the same length as the real one where it can be.
	unknown := func(i int) string {
		local, domain, ok := strings.Cut(*username, "@")
		if !ok {
			domain = "example.com"
		}
		tag := fmt.Sprintf("nx%d", i)
		if len(local) > len(tag) {
			tag = strings.Repeat("z", len(local)-len(tag)) + tag
		}
		return tag + "@" + domain
	}

	var raw *os.File
	if *rawPath != "" {
		f, err := os.Create(*rawPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "timing:", err)
			os.Exit(2)
		}
		raw = f
		fmt.Fprintln(raw, "# pair wrong_first unknown_ms unknown_ok wrong_ms wrong_ok")
	}
	coin := rand.New(rand.NewPCG(3, 4)) // fixed seed: every run sends the same order
	wrongFirst := func(int) bool {
		switch *order {
		case "unknown-first":
			return false
		case "wrong-first":
			return true
		}
		return coin.IntN(2) == 1
	}
	switch *order {
	case "random", "unknown-first", "wrong-first":
	default:
		fmt.Fprintln(os.Stderr, "timing: -order is random, unknown-first or wrong-first")
		os.Exit(2)
	}

	for i := 0; i < *warmup; i++ {
		login(unknown(-1 - i))
		login(*username)
	}
	var unk, wrong []float64
	var paired []float64
	for i := 0; i < *n; i++ {
		var du, dw time.Duration
		var okU, okW bool
		wrongFirst := wrongFirst(i)
		if wrongFirst {
			dw, okW = login(*username)
			du, okU = login(unknown(i))
		} else {
			du, okU = login(unknown(i))
			dw, okW = login(*username)
		}
		if okU {
			unk = append(unk, ms(du))
		}
		if okW {
			wrong = append(wrong, ms(dw))
		}
		if okU && okW {
			paired = append(paired, ms(dw)-ms(du))
		}
		if raw != nil {
			fmt.Fprintf(raw, "%d %t %.4f %t %.4f %t\n", i, wrongFirst, ms(du), okU, ms(dw), okW)
		}
	}
	if raw != nil {
		if err := raw.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "timing:", err)
		}
	}

	nBad := 0
	keys := make([]string, 0, len(bad))
	for k, c := range bad {
		keys = append(keys, k)
		nBad += c
	}
	sort.Strings(keys)
	detail := make([]string, 0, len(keys))
	for _, k := range keys {
		detail = append(detail, fmt.Sprintf("%s=%d", k, bad[k]))
	}
	badDetail := strings.Join(detail, ",")
	if badDetail == "" {
		badDetail = "-"
	}
	if len(unk) == 0 || len(wrong) == 0 {
		fmt.Printf("timing: no answer was a 401 invalid_credentials (%s)\n", badDetail)
		fmt.Printf("TIMING n=%d bad=%d bad_detail=%s\n", *n, nBad, badDetail)
		return
	}
	uMed, wMed := median(unk), median(wrong)
	lo, hi := bootstrap(unk, wrong, 2000)
	fmt.Printf("timing: unknown email median %.3f ms (p10 %.3f, p90 %.3f, %d timed); wrong password median %.3f ms (p10 %.3f, p90 %.3f, %d timed)\n",
		uMed, pct(unk, 10), pct(unk, 90), len(unk), wMed, pct(wrong, 10), pct(wrong, 90), len(wrong))
	fmt.Printf("timing: difference %+.3f ms (95%% bootstrap %+.3f…%+.3f), median of pair differences %+.3f ms; bad answers %d (%s)\n",
		wMed-uMed, lo, hi, median(paired), nBad, badDetail)
	fmt.Printf("TIMING n=%d unknown_median=%.4f unknown_p10=%.4f unknown_p90=%.4f wrong_median=%.4f wrong_p10=%.4f wrong_p90=%.4f diff=%.4f diff_lo=%.4f diff_hi=%.4f paired_median=%.4f bad=%d bad_detail=%s\n",
		*n, uMed, pct(unk, 10), pct(unk, 90), wMed, pct(wrong, 10), pct(wrong, 90), wMed-uMed, lo, hi, median(paired), nBad, badDetail)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median: the middle value, the mean of the two middle ones for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// pct: the p-th percentile, nearest rank.
func pct(xs []float64, p int) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// bootstrap: the 2.5th and 97.5th percentiles of median(b*) − median(a*)
// over rounds resamplings (with replacement) of each side.
func bootstrap(a, b []float64, rounds int) (lo, hi float64) {
	r := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same times give the same interval
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	d := make([]float64, rounds)
	for k := range d {
		for i := range ra {
			ra[i] = a[r.IntN(len(a))]
		}
		for i := range rb {
			rb[i] = b[r.IntN(len(b))]
		}
		d[k] = median(rb) - median(ra)
	}
	sort.Float64s(d)
	return d[rounds*25/1000], d[rounds*975/1000-1]
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
