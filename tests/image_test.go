package tests

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gatehouse/internal/testenv"
)

// TestImage (contract §12) builds the Dockerfile's image with podman and
// runs it: it serves on port 8000 as user 65532 with its SQLite file under
// /data, has no shell, its health check (`gatehouse healthcheck`) passes,
// and it stops on SIGTERM with exit code 0.
//
// No registry is reachable here, so the Dockerfile's build stage (FROM
// golang) cannot be pulled: the test builds its final stage, taken from
// the Dockerfile line for line, around the static binary the tests built
// (CGO_ENABLED=0, as the build stage does). Without podman the test is
// skipped, or fails with CI=true (.ci/run installs podman and runc).
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but podman is not installed: the image cannot be tested")
		}
		t.Skip("needs podman")
	}
	t.Parallel()
	ctxDir := t.TempDir()
	final := finalStage(t)
	for path, from := range map[string]string{"out/gatehouse": binaryPath, "etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt"} {
		b, err := os.ReadFile(from)
		if err != nil {
			b = nil // no CA roots on this machine: the image is still tested, without them
		}
		if err := os.MkdirAll(filepath.Join(ctxDir, filepath.Dir(path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ctxDir, path), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(ctxDir, "out", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte(final), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "gatehouse-test-" + testenv.RandomHex(4)
	podman(t, "build", "--format", "docker", "-t", name, ctxDir)
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "-f", name).Run() })

	addr := freeAddr(t)
	// Where crun cannot run containers (cgroups v1 with a v2 mount beside
	// them, as on this machine), runc can; and the sandbox may refuse to
	// raise a limit, so the container gets limits no higher than ours.
	var global []string
	if _, err := exec.LookPath("runc"); err == nil {
		global = []string{"--runtime", "runc"}
	}
	var nofile, nproc unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile)
	_ = unix.Getrlimit(unix.RLIMIT_NPROC, &nproc)
	run := append(global, "run", "-d", "--name", name, "-p", addr+":8000",
		"--ulimit", fmt.Sprintf("nofile=%d:%d", min(nofile.Cur, 1024), nofile.Max),
		"--ulimit", fmt.Sprintf("nproc=%d:%d", min(nproc.Cur, 4096), min(nproc.Max, 4096)), name)
	podman(t, run...)
	t.Cleanup(func() { _ = exec.Command("podman", "rm", "-f", name).Run() })

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Fatalf("the container's /readyz did not answer 200 within 30 s (%v)\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The image's own HEALTHCHECK, run once (podman schedules it with
	// systemd timers, which a machine without systemd lacks).
	podman(t, append(global, "healthcheck", "run", name)...)
	if got := podman(t, "inspect", name, "--format", "{{.Config.User}} {{json .Config.Healthcheck.Test}}"); got != `65532:65532 ["CMD","/gatehouse","healthcheck"]` {
		t.Errorf("user and health check: %s", got)
	}
	if out, err := exec.Command("podman", append(global, "exec", name, "/bin/sh", "-c", "true")...).CombinedOutput(); err == nil {
		t.Errorf("the image has a shell: %s", out)
	}
	if out, err := exec.Command("podman", append(global, "exec", name, "/gatehouse", "healthcheck", "--addr", "127.0.0.1:1")...).CombinedOutput(); err == nil {
		t.Errorf("healthcheck against nothing succeeded: %s", out)
	}
	podman(t, append(global, "stop", "-t", "20", name)...)
	if got := podman(t, "inspect", name, "--format", "{{.State.ExitCode}}"); got != "0" {
		logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
		t.Errorf("exit code after SIGTERM: %s\n%s", got, logs)
	}
	if logs, _ := exec.Command("podman", "logs", name).CombinedOutput(); !strings.Contains(string(logs), "database=sqlite:///data/gatehouse.db") {
		t.Errorf("the container did not serve from /data:\n%s", logs)
	}
}

// finalStage is the Dockerfile's last stage (FROM scratch onwards) with
// its copies from the build stage made copies from the build context.
func finalStage(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	_, final, ok := strings.Cut(string(b), "\nFROM scratch\n")
	if !ok {
		t.Fatal("the Dockerfile has no FROM scratch stage")
	}
	r := strings.NewReplacer(
		"COPY --from=build /etc/ssl/", "COPY etc/ssl/",
		"COPY --from=build /out/gatehouse ", "COPY out/gatehouse ",
		"COPY --from=build --chown=65532:65532 /out/data ", "COPY --chown=65532:65532 out/data ",
	)
	final = "FROM scratch\n" + r.Replace(final)
	if strings.Contains(final, "--from=build") {
		t.Fatalf("the Dockerfile's final stage copies something this test does not provide:\n%s", final)
	}
	return final
}

// podman runs podman with args and returns its trimmed output; a failure
// fails the test.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// podman logs its systemd complaints (no health-check timers) to stderr.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(l, "systemd") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
