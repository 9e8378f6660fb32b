package main

import (
	"bytes"
	"sync"
	"testing"
)

// lockedBuffer is what the log writer writes to, read from the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogWriter checks that log lines are held until a flush (a tick, a
// full buffer, or Close) and that none is lost on a normal stop.
func TestLogWriter(t *testing.T) {
	out := &lockedBuffer{}
	w := newLogWriter(out)
	w.mu.Lock() // hold off the ticker while checking that writes are buffered
	if _, err := w.buf.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "" {
		t.Errorf("before a flush: got %q written, want nothing", got)
	}
	w.mu.Unlock()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\n" {
		t.Errorf("after Flush: got %q, want %q", got, "one\n")
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 70<<10)); err != nil {
		t.Fatal(err)
	}
	if got := len(out.String()); got < 64<<10 {
		t.Errorf("a write past the 64 KiB buffer: %d bytes out, want it written through", got)
	}
	if _, err := w.Write([]byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !bytes.HasSuffix([]byte(got), []byte("last\n")) {
		t.Errorf("after Close: the last line is missing")
	}
}
