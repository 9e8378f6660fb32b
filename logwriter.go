package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers the server's log and writes it out every
// flushInterval, when 64 KiB have gathered, and when it is closed. A write
// to a file or a pipe cost more than the rest of a GET /healthz (bench/run:
// a line per request); buffered, a busy server writes once per tick. The
// price, as with nginx's `access_log … buffer= flush=`, is that a process
// killed outright (SIGKILL, a crash of the runtime) loses at most the last
// tick of lines; a normal stop flushes everything.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// flushInterval is how stale the log on disk may be.
const flushInterval = 100 * time.Millisecond

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{buf: bufio.NewWriterSize(out, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(flushInterval)
	return w
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes out what is buffered.
func (w *logWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

func (w *logWriter) flushEvery(d time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
			_ = w.Flush() // nowhere to report a failing log but the log
		}
	}
}

// Close stops the ticker and flushes.
func (w *logWriter) Close() error {
	close(w.stop)
	<-w.done
	return w.Flush()
}
